"""Experiment files (``sweep`` and ``robustness``) and calibration search specs: validated like scenario files.

Each file is read with :func:`sim.base.yamlio.read_yaml` and checked by a pydantic model with
``extra="forbid"`` and strict types; every problem is an :class:`~sim.base.errors.InputError`
naming the file and the field.

>>> spec = validate_sweep({"scenario": "../scenarios/baseline.yaml", "reps": 2,
...                        "one_way": ["therapy.no_show_prob"]}, "demo.yaml")
>>> spec.kind, spec.reps
('one_way', 2)
>>> validate_sweep({"scenario": "b.yaml", "reps": 0, "grid": {"capacity.policy": ["individual"]}}, "demo.yaml")
Traceback (most recent call last):
sim.base.errors.InputError: invalid experiment demo.yaml: reps: Input should be greater than or equal to 1
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.base.errors import InputError
from sim.base.kpis import HEADLINE, KPI
from sim.base.yamlio import read_yaml
from sim.scenario import format_validation_error

Value = str | int | float | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Axis(_Strict):
    """One axis of a two-way map: exactly one parameter path and its values."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_parameter(self) -> Axis:
        extra = self.model_extra or {}
        if len(extra) != 1:
            raise ValueError(f"expected exactly one parameter path with a list of values, got {len(extra)}")
        (path, values), = extra.items()
        if not isinstance(values, list) or not values:
            raise ValueError(f"{path}: expected a non-empty list of values")
        return self

    @property
    def path(self) -> str:
        return next(iter(self.model_extra or {}))

    @property
    def values(self) -> list[Any]:
        return next(iter((self.model_extra or {}).values()))


class TwoWay(_Strict):
    x: Axis
    y: Axis


class SweepExperiment(_Strict):
    """A ``sweep`` experiment: a scenario, replications, and one of grid, one_way or two_way; a one_way with
    ``compare_to`` varies the paired difference scenario - reference instead of the scenario's own KPIs."""

    scenario: str = Field(min_length=1, description="Scenario file, relative to the experiment file.")
    reps: int = Field(3, ge=1, le=1000, description="Replications per point.")
    seed: int | None = Field(None, ge=0, description="Master seed (default: the scenario's own).")
    set: dict[str, Value] | list[str] = Field(default_factory=dict, description="Overrides applied to the scenario.")
    description: str = ""
    grid: dict[str, list[Value]] | None = None
    one_way: list[str] | None = Field(None, min_length=1)
    two_way: TwoWay | None = None
    compare_to: str | None = Field(None, min_length=1, description=(
        "Reference scenario file, relative to the experiment file (one_way only): the sensitivity of the paired "
        "difference scenario - reference, not of the scenario's own KPIs."))

    @model_validator(mode="after")
    def _exactly_one_design(self) -> SweepExperiment:
        given = [k for k in ("grid", "one_way", "two_way") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of grid, one_way, two_way (got {', '.join(given) or 'none'})")
        if self.grid is not None:
            if not self.grid:
                raise ValueError("grid: expected at least one parameter path with a list of values")
            empty = [k for k, v in self.grid.items() if not v]
            if empty:
                raise ValueError(f"grid.{empty[0]}: expected a non-empty list of values")
        if self.compare_to is not None and self.one_way is None:
            raise ValueError(f"compare_to: only with one_way (this experiment is a {given[0]})")
        return self

    @property
    def kind(self) -> str:
        """grid, one_way, one_way_contrast (a one_way with ``compare_to``) or two_way."""
        kind = next(k for k in ("grid", "one_way", "two_way") if getattr(self, k) is not None)
        return "one_way_contrast" if self.compare_to is not None else kind


class SearchSpec(_Strict):
    """A calibration search spec: setting, scenario, replications and candidate values per parameter."""

    setting: str = Field(min_length=1)
    scenario: str = Field(min_length=1)
    reps: int = Field(ge=1, le=1000)
    seed: int | None = Field(None, ge=0)
    method: Literal["coordinate", "grid"] = "coordinate"  # one parameter at a time, or every combination
    passes: int = Field(1, ge=1, le=20)
    params: dict[str, list[Value]] = Field(min_length=1)
    start: dict[str, Value] = Field(default_factory=dict)
    centre_weight: float = Field(0.05, ge=0, le=100)  # the loss's pull to each band's middle (calibration_search)
    targets: list[str] = Field(default_factory=list)  # the targets in the loss (default: every target of the setting)
    description: str = ""

    @model_validator(mode="after")
    def _candidates(self) -> SearchSpec:
        empty = [k for k, v in self.params.items() if not v]
        if empty:
            raise ValueError(f"params.{empty[0]}: expected a non-empty list of candidate values")
        unknown = [k for k in self.start if k not in self.params]
        if unknown:
            raise ValueError(f"start.{unknown[0]}: not one of the params")
        if self.method == "grid" and (self.start or self.passes != 1):
            raise ValueError("method: grid evaluates every combination of the candidates once; it takes no start "
                             "and no passes (use method: coordinate for those)")
        return self


#: The robustness platform: smaller than the study's, with its shorter warm-up and follow-up (docs/model.md).
SMALL_PLATFORM: dict[str, Value] = {"therapists.count": 50, "demand.arrivals_per_week": 175.0, "horizon.warmup_weeks": 26,
                                   "horizon.measured_weeks": 52, "horizon.follow_up_weeks": 13}


class Contrast(_Strict):
    policy: str = Field(min_length=1, description="Scenario file of the policy (relative to the experiment file).")
    reference: str = Field(min_length=1, description="Scenario file it is compared with.")
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or f"{Path(self.policy).stem} vs {Path(self.reference).stem}"


class RobustnessExperiment(_Strict):
    """A robustness experiment file (see experiments/robustness.yaml): a sample of worlds over the uncertain
    parameters, each world running every contrast, judged against the calibration targets of ``setting``."""

    description: str = ""
    contrasts: list[Contrast] = Field(min_length=1)
    parameters: list[str] | None = Field(None, min_length=1)
    ranges: dict[str, list[float | int]] = Field(default_factory=dict, description="[low, high] per parameter.")
    sampler: Literal["lhs", "sobol", "morris"] = Field("lhs", description=(
        "lhs: a Latin hypercube of n worlds, drivers from a surrogate (the default); sobol: Saltelli's design, "
        "n (D + 2) runs, indices from the runs (for a cluster); morris: elementary effects, n (D + 1) runs."))
    n: int = Field(8, ge=1, le=100_000)
    reps: int = Field(1, ge=1, le=100)
    repeats: int = Field(0, ge=0, le=100_000, description=(
        "How many worlds run a second time with other random numbers, to measure replication noise."))
    refocused: int = Field(0, ge=0, le=100_000, description=(
        "History matching's second wave: this many more worlds drawn from the region the first wave's emulators "
        "do not rule out (lhs only)."))
    candidates: int = Field(20_000, ge=100, le=1_000_000, description="Candidate points screened for the second wave.")
    seed: int = Field(20261127, ge=0)
    kpis: list[str] = Field(default_factory=lambda: list(HEADLINE), min_length=1)
    platform: dict[str, Value] = Field(default_factory=lambda: dict(SMALL_PLATFORM))
    status_quo: str | None = Field(None, min_length=1, description=(
        "Scenario file whose runs are judged against the targets (default: the first contrast's reference)."))
    setting: str = Field("us_platform", min_length=1, description="Calibration setting whose targets judge a world.")
    cutoff: float = Field(3.0, gt=0, description="Largest implausibility a plausible world may have on any target.")

    @model_validator(mode="after")
    def _known(self) -> RobustnessExperiment:
        unknown = [k for k in self.kpis if k not in KPI]
        if unknown:
            raise ValueError(f"kpis: unknown KPI {unknown[0]!r}; see sim/base/kpis.py")
        for path, pair in self.ranges.items():
            if len(pair) != 2 or not pair[0] < pair[1]:
                raise ValueError(f"ranges.{path}: expected [low, high] with low < high, got {pair}")
        if self.repeats > self.n and self.sampler == "lhs":
            raise ValueError(f"repeats: at most n ({self.n}) worlds can be repeated, got {self.repeats}")
        if self.refocused and self.sampler != "lhs":
            raise ValueError(f"refocused: a second wave needs sampler lhs, got {self.sampler}")
        return self

    @property
    def status_quo_file(self) -> str:
        return self.status_quo or self.contrasts[0].reference


def _validate(model: type[_Strict], data: Any, origin: str, what: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{what} {origin}: the top level must be a mapping of keys, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(format_validation_error(err, origin, what)) from None


def validate_sweep(data: Any, origin: str) -> SweepExperiment:
    return _validate(SweepExperiment, data, origin, "experiment")  # type: ignore[no-any-return]


def load_sweep(path: Path) -> SweepExperiment:
    """Read and validate a sweep experiment file."""
    return validate_sweep(read_yaml(path, "experiment"), str(path))


def load_search_spec(path: Path) -> SearchSpec:
    """Read and validate a calibration search spec."""
    return _validate(SearchSpec, read_yaml(path, "search spec"), str(path), "search spec")  # type: ignore[no-any-return]


def load_robustness(path: Path) -> RobustnessExperiment:
    """Read and validate a robustness experiment file."""
    return _validate(RobustnessExperiment, read_yaml(path, "experiment"), str(path), "experiment")  # type: ignore[no-any-return]

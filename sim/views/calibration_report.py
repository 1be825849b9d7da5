"""Calibration runs written out: the table, the charts and a short report (``python -m sim calibrate``).

The statistics and targets live in :mod:`sim.runs.calibration` (below the charts); this module draws
them. :func:`charts` is what notebook 04 shows too.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.metrics import ended_starters, measured_clients
from sim.runs.calibration import (
    DIRECTORY_SPECIALTY_SHARES,
    SETTINGS,
    RunTables,
    alliance_outcome_r,
    calibration_markdown,
    calibration_runs,
    dropout_by_session,
    evaluate,
    improvement_curve,
    probe_runs,
    sessions_histogram,
    specialty_weight_fit,
)
from sim.runs.outputs import metadata_for
from sim.runs.policy_response import format_responses, run_responses
from sim.runs.safe_output import write_folder
from sim.scenario import load_scenario, scenario_path
from sim.views import charts

REPS = 10  # replications per setting: with 5, burnout's place in its band moved by about 5 points between seeds
SPECIALTY_FIT_THERAPISTS = 10_000  # therapists drawn per weight of the specialty fit (about 3 s for the 21)


def calibration_charts(runs: list[RunTables]) -> dict[str, Figure]:
    """The calibration charts of one setting's runs: dropout by session, dose-effect, sessions, alliance, burnout."""
    clients = pd.concat([measured_clients(r.clients) for r in runs])
    done = ended_starters(clients)
    curves = [improvement_curve(r.sessions, measured_clients(r.clients).query("sessions_attended >= 1")["client_id"])
              for r in runs]
    r_mean = float(np.nanmean([alliance_outcome_r(measured_clients(r.clients)) for r in runs]))
    weekly = pd.concat([r.weekly for r in runs])
    name = runs[0].made_by.name
    return {
        "dropout_by_session.png": charts.plot_dropout_by_session(dropout_by_session(clients)),
        "dose_effect.png": charts.plot_dose_effect(curves),
        "sessions_histogram.png": charts.plot_sessions_histogram(sessions_histogram(clients)),
        "alliance_outcome.png": charts.plot_alliance_outcome(done[done["sessions_attended"] >= 3], r_mean),
        "burnout_over_time.png": charts.plot_weekly(
            weekly, "burnout_share", [name], "Therapists in high exhaustion (target 30-50%)",
            "Share of employed therapists", runs[0].made_by.horizon.warmup_weeks),
    }


def run_calibration(out: Path, reps: int = REPS, seed: int | None = None, jobs: int = 1,
                    progress: bool = True, force: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run both settings against their targets and the status quo's levers against their published effects, and fit
    the specialty weight to the therapist directory; write the tables, the charts and a short report to ``out``.
    Returns (targets table, policy responses, specialty fit)."""
    started = time.perf_counter()
    tables, seeds = [], {}
    figures: dict[str, Figure] = {}
    for setting, scenario_name in SETTINGS.items():
        scenario = load_scenario(scenario_path(scenario_name))
        seeds[scenario_name] = scenario.seed if seed is None else seed
        runs = calibration_runs(scenario, reps, seed, jobs, progress)
        table = evaluate(setting, runs, probes=probe_runs(setting, scenario, reps, seed, jobs, progress))
        table.insert(1, "scenario", scenario_name)
        tables.append(table)
        if setting == "us_platform":
            figures.update(calibration_charts(runs))
    result = pd.concat(tables, ignore_index=True)
    status_quo = load_scenario(scenario_path(SETTINGS["us_platform"]))
    responses = run_responses(status_quo, reps, seed, jobs, progress)
    specialties = specialty_weight_fit(status_quo, therapists=SPECIALTY_FIT_THERAPISTS)

    def fill(tmp: Path) -> None:
        result.to_csv(tmp / "calibration_table.csv", index=False)
        responses.to_csv(tmp / "policy_responses.csv", index=False)
        specialties.to_csv(tmp / "specialty_fit.csv", index=False)
        (tmp / "calibration.md").write_text(calibration_markdown(result, reps) + responses_markdown(responses)
                                            + specialty_markdown(specialties,
                                                                 status_quo.therapists.specialty_prevalence_weight))
        for name, fig in figures.items():
            fig.savefig(tmp / name, dpi=130)
            plt.close(fig)
        meta = metadata_for(None, seed=seeds, replications=reps, wall_seconds=round(time.perf_counter() - started, 3),
                            settings=SETTINGS, inside=int(result["inside"].sum()), targets=len(result),
                            responses_inside=int(responses["inside"].sum()), responses=len(responses))
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))

    write_folder(out, fill, force=force)
    return result, responses, specialties


def specialty_line(fit: pd.DataFrame, default: float) -> str:
    """The best-fitting specialty weight, its pattern beside the directory's, and the default, in one line."""
    best = fit.loc[fit["distance"].idxmin()]
    observed = DIRECTORY_SPECIALTY_SHARES.values()
    return (f"Best fit: weight {best['weight']:g} (most to least often declared {best['ratio']:.2f}; directory "
            f"{max(observed) / min(observed):.2f}); the default is {default:g}.")


def specialty_markdown(fit: pd.DataFrame, default: float) -> str:
    """The report's third part: the specialty prevalence weight that reproduces the therapist directory best
    (:func:`sim.runs.calibration.specialty_weight_fit`) beside the scenario's default.

    >>> fit = pd.DataFrame({"weight": [0.0, 0.25, 0.5], "distance": [0.005, 0.0008, 0.0047],
    ...                     "ratio": [1.0, 1.35, 1.82]})
    >>> print(specialty_markdown(fit, 0.25).splitlines()[3])
    Best fit: weight 0.25 (most to least often declared 1.35; directory 1.48); the default is 0.25.
    """
    return "\n".join([
        "", "## Declared specialties against a therapist directory", "", specialty_line(fit, default),
        "", "How far declared specialties follow how common each problem is "
        "(`therapists.specialty_prevalence_weight`), against the share of 7,657 Psychology Today profiles declaring "
        "anxiety, depression, relationships and trauma (Felix 2017); the fit leans on the assumed prevalences. "
        "The whole curve is `specialty_fit.csv`.", ""])


def responses_markdown(responses: pd.DataFrame) -> str:
    """The report's second table: does each lever do what its source says?"""
    return "\n".join([
        "", "## Policy responses: does each lever do what its source says?", "",
        f"{int(responses['inside'].sum())} of {len(responses)} levers inside the published band "
        "(`calibration/policy_responses.yaml`; the status quo with one lever on, the same clients, paired per "
        "replication). The caseload (individual thresholds) and league-table levers have no published effect "
        "size in the register, so they are not checked.", "",
        format_responses(responses).to_markdown(index=False), ""])

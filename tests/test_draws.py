"""Random draws per appointment are keyed by name: adding one never changes the others."""

from __future__ import annotations

import numpy as np

from sim.engine.population import APPOINTMENT_DRAWS, APPOINTMENTS, DRAWS, ClientFactory
from sim.scenario import load_scenario
from tests.conftest import ROOT


def _luck(layout, cid: int = 300, chunks: int = 2) -> np.ndarray:
    """Client ``cid``'s draws for ``chunks`` chunks of appointments, as (appointments, draws)."""
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    factory = ClientFactory(sc, seed=11, replication=1, domain_cum=[0.5, 1.0], layout=layout)
    c = factory.make(cid, 0.0)
    rows = []
    for chunk in range(chunks):
        c.luck_used = chunk * APPOINTMENTS
        rows.append(np.asarray(factory.luck(c)).reshape(APPOINTMENTS, len(layout)))
    return np.vstack(rows)


def test_the_layout_names_each_draw_once():
    names = [name for name, _ in APPOINTMENT_DRAWS]
    assert len(set(names)) == len(names) == DRAWS
    assert {kind for _, kind in APPOINTMENT_DRAWS} == {"uniform", "normal"}


def test_adding_a_draw_keeps_every_existing_draw():
    before = _luck(APPOINTMENT_DRAWS)
    appended = _luck((*APPOINTMENT_DRAWS, ("new_lever", "uniform")))
    inserted = _luck((("new_first", "normal"), *APPOINTMENT_DRAWS))
    assert np.array_equal(appended[:, :DRAWS], before)
    assert np.array_equal(inserted[:, 1:], before)
    assert not np.array_equal(appended[:, DRAWS], before[:, 0])  # the new draw is a stream of its own


def test_draws_have_their_kind():
    draws = _luck(APPOINTMENT_DRAWS, chunks=1)
    for column, (_, kind) in enumerate(APPOINTMENT_DRAWS):
        values = draws[:, column]
        if kind == "uniform":
            assert ((values >= 0) & (values < 1)).all()
    factory_all = np.vstack([_luck(APPOINTMENT_DRAWS, cid) for cid in range(0, 256, 8)])
    normals = factory_all[:, [i for i, (_, k) in enumerate(APPOINTMENT_DRAWS) if k == "normal"]]
    assert abs(normals.mean()) < 0.1 and 0.9 < normals.std() < 1.1
    assert (normals < 0).any()

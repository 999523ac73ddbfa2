"""Genetic algorithm: a population evaluated in one batch equals the same networks
evaluated one by one or in chunks through a map (what a Dask client does), and a few
generations lower the fitness minibatch's cross-entropy of the best network."""

import numpy as np

from spu_emulator.nn.data import load_labeled
from spu_emulator.nn.genetic import fitness, flatten, generation, unflatten
from spu_emulator.nn.model import NetConfig, ThermoNet, init_params
from spu_emulator.nn.train import initial_state
from spu_emulator.nn.trained import TrainSettings


def test_batched_fitness_equals_chunks_and_round_trip():
    cfg = NetConfig(n_in=6, n_hidden=4, n_out=3, dt=0.02, t_final=0.4)
    r = np.random.default_rng(0)
    pop = np.stack([flatten(ThermoNet(cfg, *init_params(cfg, np.random.default_rng(i))))
                    for i in range(5)])
    W, K, b = unflatten(cfg, pop[:1])
    assert np.array_equal(flatten(ThermoNet(cfg, W[0], K[0], b[0])), pop[0])
    u = r.uniform(0, 1, (9, 6))
    y = r.integers(0, 3, 9)
    keys = [[1, 2, i] for i in range(5)]
    whole = fitness(cfg, pop, u, y, keys, 1.0, "xent")
    parts = np.concatenate([fitness(cfg, pop[a: a + 2], u, y, keys[a: a + 2], 1.0, "xent")
                            for a in range(0, 5, 2)])
    np.testing.assert_array_equal(whole, parts)
    assert len(set(whole.tolist())) == 5


def test_generations_improve_the_elite():
    tr = load_labeled("digits", "train").subset(np.arange(300))
    cfg = NetConfig(n_in=64, n_hidden=8, dt=0.02)
    st = initial_state(cfg, TrainSettings(method="ga", population=16, elite=4, mutation=0.1,
                                          batch_size=300), tr)
    U, y = tr.scaled(), tr.labels
    first = generation(st, U, y, 0)[0]
    for g in range(1, 25):
        last = generation(st, U, y, g)[0]
    assert last < first - 0.05, (first, last)


def test_dask_map_gives_the_same_generation():
    import pytest

    distributed = pytest.importorskip("dask.distributed")
    tr = load_labeled("digits", "train").subset(np.arange(120))
    cfg = NetConfig(n_in=64, n_hidden=4, dt=0.02, t_final=0.2)
    settings = TrainSettings(method="ga", population=6, elite=2, batch_size=40)
    a = initial_state(cfg, settings, tr)
    b = initial_state(cfg, settings, tr)
    U, y = tr.scaled(), tr.labels
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=None) as client:
        def fmap(fn, chunks):
            return client.gather(client.map(fn, chunks, pure=False))

        for g in range(2):
            generation(a, U, y, g)
            generation(b, U, y, g, fitness_map=fmap, chunks=3)
    np.testing.assert_array_equal(a.population, b.population)

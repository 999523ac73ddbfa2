"""Seeded random netlists for property tests: cells, couplers, extra capacitive
nodes, Kron-reducible resistive nodes, inductors with mutual coupling."""

from __future__ import annotations

import numpy as np


def random_netlist_yaml(seed: int, temperatures: bool = False) -> str:
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 6))
    lines = ["format: spu-netlist/1", f"name: random{seed}", "temperature: 300 K", "cells:"]
    cells = [f"c{i}" for i in range(d)]
    inductors = []

    def temp() -> str:
        return (
            f", temperature: {rng.uniform(50, 500):.3f} K"
            if temperatures and rng.random() < 0.5
            else ""
        )

    for c in cells:
        parts = [f"name: {c}", f"C: {rng.uniform(0.2, 5):.4f} nF"]
        if rng.random() < 0.7:
            parts.append(f"L: {rng.uniform(0.5, 5):.4f} uH")
            inductors.append(f"{c}.L")
        parts.append(f"R: {rng.uniform(0.3, 20):.4f} kOhm")
        lines.append("  - {" + ", ".join(parts) + temp() + "}")
    lines.append("couplers:")
    for i in range(d):
        for j in range(i + 1, d):
            u = rng.random()
            if u < 0.4:
                lines.append(
                    f"  - {{between: [{cells[i]}, {cells[j]}], C: {rng.uniform(10, 500):.2f} pF}}"
                )
            elif u < 0.6:
                lines.append(
                    f"  - {{between: [{cells[i]}, {cells[j]}], R: {rng.uniform(1, 100):.3f} kOhm{temp()}}}"
                )
    if lines[-1] == "couplers:":
        lines.pop()
    els = []
    # extra capacitive nodes hanging off cells
    for k in range(int(rng.integers(0, 3))):
        x = f"x{k}"
        host = cells[int(rng.integers(d))]
        els.append(
            f"  - {{name: Cx{k}, type: C, nodes: [{x}, gnd], value: {rng.uniform(5, 500):.2f} pF}}"
        )
        els.append(
            f"  - {{name: Rx{k}, type: R, nodes: [{host}, {x}], value: {rng.uniform(0.1, 10):.3f} kOhm{temp()}}}"
        )
        if rng.random() < 0.5:
            els.append(
                f"  - {{name: Lx{k}, type: L, nodes: [{x}, gnd], value: {rng.uniform(1, 20):.3f} uH, "
                f"series_R: {rng.uniform(0.1, 5):.3f} Ohm}}"
            )
            inductors.append(f"Lx{k}")
        if rng.random() < 0.3:
            els.append(
                f"  - {{name: Cxc{k}, type: C, nodes: [{x}, {host}], value: {rng.uniform(5, 100):.2f} pF}}"
            )
    # Kron-reducible resistive nodes (a resistive T or star between cells)
    for k in range(int(rng.integers(0, 3))):
        r = f"r{k}"
        a, b = rng.choice(d, size=2, replace=d < 2)
        els.append(
            f"  - {{name: Ra{k}, type: R, nodes: [{cells[a]}, {r}], value: {rng.uniform(1, 10):.3f} kOhm{temp()}}}"
        )
        els.append(
            f"  - {{name: Rb{k}, type: R, nodes: [{r}, {cells[b]}], value: {rng.uniform(1, 10):.3f} kOhm{temp()}}}"
        )
        els.append(
            f"  - {{name: Rg{k}, type: R, nodes: [{r}, gnd], value: {rng.uniform(1, 50):.3f} kOhm{temp()}}}"
        )
    # mutual inductance between pairs of inductors (small k keeps L positive definite)
    if len(inductors) >= 2:
        for _ in range(int(rng.integers(0, min(3, len(inductors) // 2) + 1))):
            a, b = rng.choice(len(inductors), size=2, replace=False)
            pair = sorted((inductors[a], inductors[b]))
            name = f"K_{pair[0]}_{pair[1]}".replace(".", "_")
            if any(name in e for e in els):
                continue
            els.append(
                f"  - {{name: {name}, type: K, inductors: [{pair[0]}, {pair[1]}], k: {rng.uniform(-0.3, 0.3):.4f}}}"
            )
    if els:
        lines.append("elements:")
        lines.extend(els)
    return "\n".join(lines) + "\n"

"""The Depix-style dictionary attack (benchmarks/kernel_attack.py) as a test.

`fill` must leave the attacker at chance (1/51 with 50 decoys); weak blur
must be broken, which proves the attack (and so this test) can fail."""

from __future__ import annotations

from benchmarks.kernel_attack import attack

DECOYS = 50
CHANCE = 1 / (DECOYS + 1)


def test_fill_resists_dictionary_attack() -> None:
    rate = attack("fill", trials=60, decoys=DECOYS, seed=11)
    assert rate <= 2 * CHANCE + 0.01, rate


def test_fill_resists_dictionary_attack_with_noise() -> None:
    rate = attack("fill", trials=20, decoys=DECOYS, seed=12, noise=2.0)
    assert rate <= 2 * CHANCE + 0.01, rate


def test_attack_breaks_weak_blur() -> None:
    rate = attack("blur", trials=60, decoys=DECOYS, seed=11, strength=1)
    assert rate >= 0.8, rate

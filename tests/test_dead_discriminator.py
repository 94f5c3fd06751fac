"""The dead-discriminator check of the training loop
(`controller.discriminator_looks_dead`), on the metric histories of
measured runs whose D died or lived."""

import math
import types

import pytest

from logit_gan import controller
from logit_gan import losses


def history(rows):
  return [{"step": step, "d_real": d_real, "d_fake": d_fake,
           "d_loss": d_loss} for step, d_real, d_fake, d_loss in rows]


# shapes_mini/standard.gin at GAN.d_lr = 2e-3 (2026-12-02): D's features
# died; it output -0.1677 on every image from step 1,400 and class
# agreement stayed at 1.9% (chance 1%).
DIED = history([
    (300, -0.006143, -0.0389, 1.967),
    (500, -0.1371, -0.1324, 2.005),
    (700, -0.1525, -0.1523, 2.0),
    (900, -0.1458, -0.1455, 2.0),
    (1000, -0.14, -0.1451, 1.995),
    (1200, -0.1541, -0.1541, 2.0),
    (1400, -0.1677, -0.1677, 2.0)])

# shapes_mini/robust.gin, the same GAN on the robust classifier (50.5%
# agreement at step 7,000): its first loops, near the fixed point at step
# 300 (|d_real - d_fake| = 0.018, the closest of its 70 loops).
LIVED = history([
    (100, -0.2337, -0.5002, 1.7803),
    (200, -0.1548, -0.2382, 1.9166),
    (300, -0.1016, -0.1196, 1.982),
    (400, -0.0466, -0.1279, 1.9187),
    (500, -0.3072, -0.4141, 1.9091)])


def looks_dead(rows, loss_fn=losses.hinge):
  return controller.discriminator_looks_dead(rows, loss_fn)


def test_a_dead_discriminator_is_caught_within_five_loops():
  verdicts = {DIED[end - 1]["step"]: looks_dead(DIED[:end])
              for end in range(1, len(DIED) + 1)}
  # Loops 500-1,200 (logged every 100 steps, these printed): stopped at
  # step 1,200 instead of running on to 7,000.
  assert verdicts == {300: False, 500: False, 700: False, 900: False,
                      1000: False, 1200: True, 1400: True}


def test_a_living_discriminator_is_not():
  assert not looks_dead(LIVED)
  # Its closest loop five times over is still too far from the fixed point.
  assert not looks_dead([{**LIVED[2], "step": s} for s in range(0, 500, 100)])


def test_one_lively_loop_ends_the_streak():
  rows = DIED[1:6] + [{**LIVED[0], "step": 1200}]
  assert looks_dead(rows[:-1]) and not looks_dead(rows)


def test_five_dead_loops_over_a_few_steps_are_not_enough():
  """A tiny run summarising every step starts near D(x) = 0 for all x."""
  rows = history([(step, 0.001, 0.0, 1.999) for step in range(1, 6)])
  assert not looks_dead(rows)
  assert looks_dead(history([(100 * step, 0.001, 0.0, 1.999)
                             for step in range(1, 6)]))


@pytest.mark.parametrize("d_real,d_fake,d_loss,dead", [
    (1.5, 1.5, 2.5, True),  # Above the margin: the hinge gives 1 + c.
    (1.5, 1.5, 2.0, False),  # Equal means, but no constant output.
    (-0.0041, -0.00087, 2.0, True),  # shapes, GAN.disc_iters = 1, step 1700
    (1.569, -1.622, 2.0, False),  # make demo10, step 1800
    (0.004, 0.9, 2.0, False)])
def test_the_fixed_point_is_the_hinge_loss_of_the_constant(d_real, d_fake,
                                                           d_loss, dead):
  rows = history([(100 * step, d_real, d_fake, d_loss)
                  for step in range(1, 6)])
  assert looks_dead(rows) == dead


def test_the_fixed_point_follows_the_configured_loss():
  at_zero = 2 * math.log(2.0)  # softplus(0) + softplus(0).
  rows = history([(100 * step, 0.0, 0.0, at_zero) for step in range(1, 6)])
  assert looks_dead(rows, losses.non_saturating)
  assert not looks_dead(rows, losses.hinge)


def test_the_training_loop_stops_with_the_cause_and_the_fix():
  loop = controller.Controller.__new__(controller.Controller)
  loop._run = types.SimpleNamespace(
      model=types.SimpleNamespace(loss_fn=losses.hinge, d_lr=0.002))
  loop.discriminator_history = []  # As Controller.__init__ leaves it.
  with pytest.raises(controller.DeadDiscriminatorError,
                     match=r"Step 1200: .* since step 500 .*d_loss 2\.0000.*"
                     r"GAN\.d_lr = 0\.002\).*GAN\.d_lr = 0\.001"):
    for row in DIED:
      loop.step = row["step"]
      loop.metrics = {k: v for k, v in row.items() if k != "step"}
      loop._watch_discriminator()
  assert loop.step == 1200

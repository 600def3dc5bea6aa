"""The customer repository against a model, driven by the hypothesis state machine of
:mod:`crmkit.testing.statemachine`.
"""

from __future__ import annotations

from crmkit.testing.contract._fixture import StoreFixture as _StoreFixture
from crmkit.testing.statemachine import run_store_state_machine


class CustomerStateMachineContract(_StoreFixture):
    """The customer repository agrees with a dict through random sequences of operations."""

    def test_the_customer_repository_agrees_with_a_model_through_random_steps(self) -> None:
        run_store_state_machine(
            self.make_store,
            max_examples=self.state_machine_examples,
            step_count=self.state_machine_steps,
        )

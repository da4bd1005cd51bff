"""Synthesis targets other than real AWS, passed to the stacks through the cdktf App's context."""

from __future__ import annotations

from dataclasses import dataclass

EMULATOR_CONTEXT = "aiSubsidyAwsEmulator"


@dataclass(frozen=True)
class EmulatorTarget:
    """Synthesis for a local AWS emulator (moto), never the default: set only by `python -m synth
    --aws-emulator URL --emulator-state-dir DIR`. Providers call the emulator; every stack keeps
    local state in DIR so plans need no real state bucket."""

    endpoint: str
    state_dir: str

    def context(self) -> dict[str, dict[str, str]]:
        return {EMULATOR_CONTEXT: {"endpoint": self.endpoint, "state_dir": self.state_dir}}

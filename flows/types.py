"""Parameter types shared by every paper's flow: they become the Prefect UI's run form."""

from typing import Literal

Profile = Literal["smoke", "default", "full", "paper"]
StepName = Literal["prepare", "train", "evaluate", "report"]

"""Claims checked in the opening chapter (LeNet-5, from the survey note's first family)."""

from ..registry import count_parameters, model_info
from . import Context, Evidence, Verdict, claim


@claim("lenet5.params", chapter="opening", source="note 001, LeNet; LeCun et al. 1998, Sec. II.B",
       statement="LeNet-5 has about 60,000 trainable parameters", quoted="60,000", kind="params")
def _lenet5_params(ctx: Context) -> Evidence:
    n = count_parameters("lenet5")
    ok = model_info("lenet5").reported.params_match(n)
    return Evidence(f"{n:,}", Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED,
                    "paper-exact layers (C3 connection table, trainable sub-sampling); "
                    "linear output layer instead of the fixed RBF units")

"""The instruments the chapters use to check the notes' claims.

Each returns tidy data (a pandas DataFrame or a dataclass) and has a separate ``plot_*`` function
that takes the caption line (budget, device) every figure must carry:

=============  ===================================================================================
``cost``       parameters and multiply-accumulates per layer, stage and model; the notes' formulas
``gradflow``   per-layer gradient norms and activation statistics, once or during training
``reuse``      DenseNet weight-reuse heatmaps (DenseNet paper Fig. 5)
``memory``     saved-tensor bytes, CUDA peak, process peak RSS; sweeps with growth fits
``runtime``    run time per operator category; ShuffleNet v2 guidelines G1–G4
``throughput`` images/s for inference and training
=============  ===================================================================================
"""

from .cost import (
    FLOPS_PER_MAC, ModelCost, conv2d_macs, depthwise_separable_macs, layer_costs, model_cost,
    model_cost_table, parameter_counts, plot_cost_table, plot_stage_costs, standard_conv_macs,
)
from .gradflow import (
    GradientRecorder, compare_gradient_flow, gradient_norms, plot_gradient_flow, probe,
)
from .memory import (
    GrowthFit, SavedTensors, compare_memory, cuda_peak_memory, fit_growth, growth_table,
    memory_table, plot_memory_sweep, process_peak_rss, saved_tensor_bytes,
)
from .plots import caption_for
from .reuse import WeightReuse, plot_weight_reuse, weight_reuse
from .runtime import (
    CATEGORIES, GUIDELINES, RuntimeBreakdown, benchmark_size, categorize, guideline_g1,
    guideline_g2, guideline_g3, guideline_g4, plot_guideline, plot_runtime_breakdown,
    runtime_breakdown,
)
from .throughput import Throughput, measure_throughput, plot_throughput, throughput_table

__all__ = [
    "CATEGORIES", "FLOPS_PER_MAC", "GUIDELINES", "GradientRecorder", "GrowthFit", "ModelCost",
    "RuntimeBreakdown", "SavedTensors", "Throughput", "WeightReuse", "benchmark_size",
    "caption_for", "categorize", "compare_gradient_flow", "compare_memory", "conv2d_macs",
    "cuda_peak_memory", "depthwise_separable_macs", "fit_growth", "gradient_norms",
    "growth_table", "guideline_g1", "guideline_g2", "guideline_g3", "guideline_g4",
    "layer_costs", "measure_throughput", "memory_table", "model_cost", "model_cost_table",
    "parameter_counts", "plot_cost_table", "plot_gradient_flow", "plot_guideline",
    "plot_memory_sweep", "plot_runtime_breakdown", "plot_stage_costs", "plot_throughput",
    "plot_weight_reuse", "probe", "process_peak_rss", "runtime_breakdown", "saved_tensor_bytes",
    "standard_conv_macs", "throughput_table", "weight_reuse",
]

"""The model zoo: one module per paper family; importing a module registers its variants.

Families are listed in the survey's order (note 001): spatial exploitation, depth, multi-path,
width, feature-map exploitation and attention.
"""

from importlib import import_module

FAMILIES = (
    "lenet", "alexnet", "zfnet", "vgg", "nin", "googlenet", "inception", "xception",
    "highway", "resnet", "fractalnet", "wide_resnet", "pyramidnet", "densenet", "resnext",
    "mobilenet", "shufflenet", "attention",
)

for _family in FAMILIES:
    try:
        import_module(f"{__name__}.{_family}")
    except ModuleNotFoundError as _err:  # a family not written yet; every other still loads
        if _err.name != f"{__name__}.{_family}":
            raise

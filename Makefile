# cnnpapers — one entry point for people, CI and the GPU runner alike.
#
#   make book    install everything, execute every chapter at BUDGET (default: cpu, reusing the
#                committed results/ cache) into book/, build the HTML book in _build/html
#   make test    install everything, run the whole test suite (pytest + nbval on notebooks/)
#
# Everything else is a step of those two.

PYTHON   ?= python3
VENV     ?= .venv
BUDGET   ?= cpu
PY        = $(VENV)/bin/python
KERNEL    = cnnpapers
STAMP     = $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK = 1
export PYTHONHASHSEED = 0

.PHONY: book test setup system-deps python-env results execute html check-book notebooks sync bench gpu clean

book: setup execute html                  ## the main job

test: setup                               ## the whole test suite, as CI runs it
	$(PY) -m pytest -q --timeout=1800 tests
	$(PY) -m pytest -q --timeout=900 --nbval --nbval-current-env \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg notebooks/

setup: system-deps python-env

system-deps:                              ## Fashion-MNIST and Chromium from Debian
	@scripts/install-system-deps.sh

python-env: $(STAMP)

$(STAMP): pyproject.toml scripts/install-python-env.sh
	scripts/install-python-env.sh $(PYTHON) $(VENV) $(KERNEL)
	touch $(STAMP)

results: setup                            ## train and store every chapter's runs at BUDGET (hours at cpu)
	$(PY) -m cnnpapers experiments run --budget $(BUDGET)

execute:                                  ## papermill every chapter at BUDGET into book/ (no training:
                                          ## a chapter whose runs are not stored runs at smoke)
	$(PY) -m cnnpapers.pipeline execute --budget $(BUDGET) --out book --kernel $(KERNEL)

html:                                     ## render book/ with Jupyter Book (warnings are errors)
	$(VENV)/bin/jupyter-book build . -W --keep-going
	$(PY) -m cnnpapers.pipeline check-html _build/html
	$(PY) -m cnnpapers.bookpages check-links _build/html

notebooks:                                ## refresh the smoke outputs that nbval checks
	$(PY) -m cnnpapers.pipeline execute --budget smoke --out notebooks --kernel $(KERNEL)

sync:                                     ## refresh .ipynb inputs from the .py sources
	$(VENV)/bin/jupytext --update --to ipynb $(filter-out notebooks/conftest.py,$(wildcard notebooks/*.py))

gpu: setup                                ## everything the gpu budget produces, in one batch
	scripts/gpu-batch.sh

clean:
	rm -rf _build

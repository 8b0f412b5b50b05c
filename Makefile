# make book     build the HTML book at book scale (sets itself up; the main job)
# make test     unit tests, the notebooks under nbval at smoke scale, a smoke-scale book build
# make reproduce SCALE=paper SEEDS="0 1 2" CHAPTERS="02"   rerun chapters as resumable Dask jobs
#   (WORKERS=N local jobs at a time; SCHEDULER=tcp://host:8786 an existing cluster; FORCE=1 redo done jobs)
# make bench    the speed benchmarks of benchmarks/ (not part of the tests; CPU, and CUDA when present;
#               SB_AUTHORS_REPO=<checkout of harshays/simplicitybiaspitfalls> adds the authors' pipeline)
# make results  after make book: record its scoreboard and regenerate the README's results table

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCALE  ?= paper
SEEDS  ?= 0 1 2 3 4
CHAPTERS ?=
WORKERS ?=
SCHEDULER ?=
FORCE ?=
FASHION := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: book test reproduce bench data clean results

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (sbcore)" >/dev/null
	touch $@

# Real images for the image chapters: Debian's Fashion-MNIST where apt is usable (root, online).
data:
	@if [ ! -f $(FASHION) ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1)) || \
		echo "note: could not install dataset-fashion-mnist; image chapters will say what is missing"; \
	fi

book: $(STAMP) data
	rm -rf _build/html _build/jupyter_execute _build/records
	SBCORE_SCALE=book $(BIN)/jupyter-book build . -W -n --keep-going

test: $(STAMP) data
	$(BIN)/python -m pytest tests -q
	SBCORE_SCALE=smoke SBCORE_RECORDS_DIR=_build/test-records $(BIN)/python -m pytest --nbval-lax book -q -p no:cacheprovider

reproduce: $(STAMP) data
	$(BIN)/python -m sbcore reproduce --scale $(SCALE) --seeds $(SEEDS) $(if $(CHAPTERS),--chapters $(CHAPTERS)) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(FORCE),--force)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf _build

results: $(STAMP)
	$(BIN)/python -m sbcore.readme --records _build/records --update

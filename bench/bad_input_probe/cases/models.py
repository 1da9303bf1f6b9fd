"""Weights and checkpoints, and the commands that take a pair: merge, sweep, label, promote, plan, toy."""

from __future__ import annotations

import os

from bench.bad_input_probe.case import Case
from bench.bad_input_probe.cases.common import LONG, MERGE, PAIR, PNG, SWEEP, search_case
from bench.bad_input_probe.setups import chain, chain_edits, csv_file, drop_inline_template, edit_config, read_only, replace_file, stored, study_file, toy_pair, write


def cases() -> list[Case]:
    """Weights, merge, sweep, label, promote."""
    c: list[Case] = []
    add = c.append

    # -- Weights and checkpoints ------------------------------------------------------------------------
    cat = "weights"
    for how in ("truncated", "garbage", "empty", "header-only", "missing", "nan", "inf", "shape", "dtype-int", "drop-tensor", "extra-tensor"):
        add(search_case(f"search-weights-{how}", cat, *PAIR, setup=toy_pair("thinking", how)))
    for how in ("truncated", "garbage", "nan", "shape"):
        add(Case(f"merge-weights-{how}", cat, [*MERGE, *PAIR, "--out", "m"], toy_pair("thinking", how)))
    add(Case("sweep-weights-garbage", cat, [*SWEEP, *PAIR, "--out", "sw"], toy_pair("instruct", "garbage")))
    for name, edit in [
        ("config-garbage", replace_file("config.json", b"{not json")),
        ("config-utf16", replace_file("config.json", '{"model_type": "qwen3"}'.encode("utf-16"))),
        ("config-missing", replace_file("config.json", None)),
        ("config-a-list", replace_file("config.json", b"[1, 2]")),
        ("config-no-model-type", edit_config(model_type=None)),
        ("config-unknown-model-type", edit_config(model_type="nosucharch")),
        ("config-other-layer-count", edit_config(num_hidden_layers=3)),
        ("config-other-vocab", edit_config(vocab_size=999)),
        ("config-negative-layers", edit_config(num_hidden_layers=-1)),
    ]:
        add(search_case(f"search-{name}", cat, *PAIR, setup=toy_pair("thinking", edit=edit)))
    for name, edit in [  # the prompts go through the instruct model's tokenizer and template
        ("tokenizer-missing", replace_file("tokenizer.json", None)),
        ("tokenizer-garbage", replace_file("tokenizer.json", b"\x00\x01garbage")),
        ("chat-template-missing", chain_edits(replace_file("chat_template.jinja", None), drop_inline_template)),
    ]:
        add(search_case(f"search-instruct-{name}", cat, *PAIR, setup=toy_pair("instruct", edit=edit)))
    add(search_case("search-instruct-a-file", cat, "--instruct", "f", "--thinking", "f", setup=write("f", "x")))
    add(search_case("search-instruct-empty-folder", cat, "--instruct", "e", "--thinking", "e", setup=write("e", None)))
    add(search_case("search-instruct-hub-id-offline", cat, "--instruct", "no-such/model-a", "--thinking", "no-such/model-b"))
    add(Case("merge-mismatched-architectures", cat, [*MERGE, *PAIR, "--out", "m"], toy_pair("thinking", edit=edit_config(hidden_size=96))))
    add(Case("merge-same-dir-twice-missing", cat, [*MERGE, "--instruct", "x", "--thinking", "x", "--out", "m"]))

    # -- merge ---------------------------------------------------------------------------------------
    cat = "merge"
    for name, args in [
        ("lam-nan", ["merge", "--lam", "nan", "--out", "m"]),
        ("lam-inf", ["merge", "--lam", "inf", "--out", "m"]),
        ("lam-text", ["merge", "--lam", "half", "--out", "m"]),
        ("lam-out-of-range", ["merge", "--lam", "1.5", "--out", "m"]),
        ("lam-attn-nan", ["merge", "--lam", "0.5", "--lam-attn", "nan", "--out", "m"]),
        ("lam-mlp-negative", ["merge", "--lam", "0.5", "--lam-mlp", "-1", "--out", "m"]),
        ("lam-attn-without-lam", ["merge", "--lam-attn", "0.5", "--out", "m"]),
        ("no-lambda", ["merge", "--out", "m"]),
        ("no-out", ["merge", "--lam", "0.5"]),
        ("spec-and-lam", ["merge", "--spec", "spec.yaml", "--lam", "0.5", "--out", "m"]),
        ("spec-missing", ["merge", "--spec", "missing.yaml", "--out", "m"]),
        ("out-existing-folder", ["merge", "--lam", "0.5", "--out", "m"]),
        ("out-existing-file", ["merge", "--lam", "0.5", "--out", "f"]),
        ("out-under-a-file", ["merge", "--lam", "0.5", "--out", "f/m"]),
        ("out-read-only", ["merge", "--lam", "0.5", "--out", "ro/m"]),
        ("out-in-proc", ["merge", "--lam", "0.5", "--out", "/proc/mi-search-probe"]),
        ("overwrite-a-file", ["merge", "--lam", "0.5", "--out", "f", "--overwrite"]),
        ("pair-unknown", ["merge", "--lam", "0.5", "--pair", "big", "--out", "m"]),
        ("instruct-only", ["merge", "--lam", "0.5", "--instruct", "pair/instruct", "--out", "m"]),
    ]:
        setup = {
            "spec-and-lam": write("spec.yaml", "lam: 0.5\n"),
            "out-existing-folder": write("m", None),
            "out-existing-file": write("f", "x"),
            "out-under-a-file": write("f", "x"),
            "out-read-only": read_only("ro"),
            "overwrite-a-file": write("f", "x"),
        }.get(name)
        add(Case(f"merge-{name}", cat, args, setup))
    for name, content in [
        ("binary", PNG),
        ("utf16", "lam: 0.5\n".encode("utf-16")),
        ("a-list", "- 0.5\n"),
        ("empty", ""),
        ("lam-text", "lam: half\n"),
        ("lam-nan", "lam: .nan\n"),
        ("unknown-key", "lam: 0.5\nmodule: {mlp: 1}\n"),
        ("module-unknown", "lam: 0.5\nmodules: {heads: 0.5}\n"),
        ("module-absent-in-model", "lam: 0.5\nmodules: {experts: 0.5}\n"),
        ("blocks-more-than-layers", "lam: 0.5\nblocks:\n" + "  - {mlp: 0.5}\n" * 40),
        ("block-unknown-key", "lam: 0.5\nblocks: [{ffn: 0.5}]\n"),
        ("blocks-not-a-list", "lam: 0.5\nblocks: 3\n"),
        ("block-out-of-range", "lam: 0.5\nblocks: [{mlp: 3}]\n"),
    ]:
        add(Case(f"merge-spec-{name}", cat, ["merge", "--spec", "spec.yaml", "--out", "m"], write("spec.yaml", content)))

    # -- sweep ---------------------------------------------------------------------------------------
    cat = "sweep"
    rest = SWEEP[3:]  # the sweep's flags after its grid: these cases set --lambdas themselves
    for name, lambdas in [
        ("tiny-step", "0:1:0.0000000001"),
        ("zero-step", "0:1:0"),
        ("negative-step", "0:1:-0.1"),
        ("reversed", "1:0:0.1"),
        ("nan-step", "0:1:nan"),
        ("inf-stop", "0:inf:1"),
        ("nan-point", "nan"),
        ("inf-point", "inf"),
        ("text", "a,b"),
        ("empty", ""),
        ("double-comma", "0,,1"),
        ("two-colons", "0:1"),
        ("four-colons", "0:1:0.5:2"),
        ("out-of-range", "0,2"),
        ("huge-list", ",".join(["0.5"] * 10001)),
    ]:
        add(Case(f"sweep-lambdas-{name}", cat, ["sweep", "--lambdas", lambdas, *rest, "--out", "sw"]))
    for name, args, setup in [
        ("limit-one", ["--limit", "1"], None),
        ("limit-text", ["--limit", "few"], None),
        ("k-zero", ["--k", "0"], None),
        ("temperature-negative", ["--temperature", "-1"], None),
        ("temperature-nan", ["--temperature", "nan"], None),
        ("top-p-over-one", ["--top-p", "2"], None),
        ("top-p-zero", ["--top-p", "0"], None),
        ("max-new-tokens-zero", ["--max-new-tokens", "0"], None),
        ("decoding-seed-text", ["--decoding-seed", "x"], None),
        ("task-unknown", ["--task", "mmlu"], None),
        ("data-missing", ["--data", "missing.jsonl"], None),
        ("data-binary", ["--data", "d.jsonl"], write("d.jsonl", PNG)),
        ("data-empty", ["--data", "d.jsonl"], write("d.jsonl", b"")),
        ("data-a-folder", ["--data", "d.jsonl"], write("d.jsonl", None)),
        ("data-utf16-csv", ["--data", "d.csv"], write("d.csv", "question,answer\n1+1,2\n".encode("utf-16"))),
        ("data-csv-no-columns", ["--data", "d.csv"], write("d.csv", "q,a\n1+1,2\n")),
        ("data-question-column-missing", ["--data", "d.jsonl", "--question-column", "nope"], write("d.jsonl", '{"question": "1+1", "answer": "2"}\n')),
        ("data-broken-jsonl", ["--data", "d.jsonl"], write("d.jsonl", '{"question": "1+1", "answer": "2"}\n{"question":\n')),
        ("data-null-answer", ["--data", "d.jsonl"], write("d.jsonl", '{"question": "1+1", "answer": null}\n')),
        ("data-garbage-parquet", ["--data", "d.parquet"], write("d.parquet", os.urandom(1024))),
        ("data-and-task", ["--data", "d.jsonl", "--task", "aime25"], write("d.jsonl", '{"question": "1+1", "answer": "2"}\n')),
        ("out-existing-folder", ["--out", "sw"], write("sw", None)),
        ("out-existing-file", ["--out", "f"], write("f", "x")),
        ("out-under-a-file", ["--out", "f/sw"], write("f", "x")),
        ("out-read-only", ["--out", "ro/sw"], read_only("ro")),
        ("out-in-proc", ["--out", "/proc/mi-search-probe"], None),
        ("overwrite-a-file", ["--out", "f", "--overwrite"], write("f", "x")),
    ]:
        out = [] if any(a == "--out" for a in args) else ["--out", "sw"]
        add(Case(f"sweep-{name}", cat, [*SWEEP, *args, *out], setup))
    add(Case("sweep-no-out", cat, list(SWEEP)))

    # -- label ---------------------------------------------------------------------------------------
    cat = "label"
    good = "lambda,think_ratio\n0,0.0\n0.5,0.5\n1,1.0\n"
    for name, content in [
        ("utf16", good.encode("utf-16")),
        ("binary", b"\x00\x01\x02lambda"),
        ("latin1", b"lambda,think_ratio,note\n0,0.0,caf\xe9\n"),
        ("empty", ""),
        ("header-only", "lambda,think_ratio\n"),
        ("no-think-ratio", "lambda,accuracy\n0,0.5\n"),
        ("lambda-text", "lambda,think_ratio\nzero,0.0\n"),
        ("think-ratio-text", "lambda,think_ratio\n0,lots\n"),
        ("think-ratio-nan", "lambda,think_ratio\n0,nan\n1,1\n"),
        ("think-ratio-over-one", "lambda,think_ratio\n0,5\n1,7\n"),
        ("lambda-inf", "lambda,think_ratio\ninf,0.0\n1,1\n"),
        ("ragged-rows", "lambda,think_ratio\n0\n1,1,1,1\n"),
        ("accuracy-text", "lambda,think_ratio,accuracy,mean_tokens\n0,0,high,10\n1,1,0.9,20\n"),
        ("duplicate-header", "lambda,lambda,think_ratio\n0,0,0\n"),
        ("one-giant-line", "lambda,think_ratio\n" + "0," * 200000 + "\n"),
        ("semicolons", "lambda;think_ratio\n0;0.0\n1;1.0\n"),
    ]:
        add(Case(f"label-{name}", cat, ["label", "in.csv"], csv_file(content)))
    add(Case("label-missing", cat, ["label", "missing.csv"]))
    add(Case("label-a-folder", cat, ["label", "d"], write("d", None)))
    add(Case("label-no-argument", cat, ["label"]))
    add(Case("label-out-a-folder", cat, ["label", "in.csv", "--out", "folder"], chain(csv_file(good), write("folder", None))))
    add(Case("label-out-exists", cat, ["label", "in.csv", "--out", "out.csv"], chain(csv_file(good), write("out.csv", "mine\n"))))
    add(Case("label-out-missing-parent", cat, ["label", "in.csv", "--out", "no/dir.csv"], csv_file(good)))
    add(Case("label-out-read-only", cat, ["label", "in.csv", "--out", "ro/o.csv"], chain(csv_file(good), read_only("ro"))))
    add(Case("label-out-under-a-file", cat, ["label", "in.csv", "--out", "f/o.csv"], chain(csv_file(good), write("f", "x"))))
    add(Case("label-out-in-proc", cat, ["label", "in.csv", "--out", "/proc/mi-search-probe.csv"], csv_file(good)))
    add(Case("label-newline-in-path", cat, ["label", "no\nsuch.csv"]))
    add(Case("label-non-utf8-path", cat, ["label", b"caf\xe9.csv"]))

    # -- promote -------------------------------------------------------------------------------------
    cat = "promote"
    promote = ["promote", "--study", "s", "--name", "m"]
    for name, args in [
        ("alias-v1", ["--alias", "v1"]),
        ("alias-V2", ["--alias", "V2"]),
        ("alias-latest", ["--alias", "latest"]),
        ("alias-empty", ["--alias", ""]),
        ("alias-slash", ["--alias", "a/b"]),
        ("alias-space", ["--alias", "a b"]),
        ("alias-long", ["--alias", LONG]),
        ("alias-newline", ["--alias", "a\nb"]),
        ("trial-negative", ["--trial", "-1"]),
        ("trial-absent", ["--trial", "999"]),
        ("trial-text", ["--trial", "best"]),
        ("tracking-unknown-scheme", ["--tracking-uri", "foo://bar"]),
        ("tracking-optuna-db", ["--tracking-uri", "sqlite:///mi-search.db"]),
        ("storage-garbage-journal", ["--storage", "journal:g.log"]),
        ("storage-mlflow-db", ["--storage", "sqlite:///mlflow.db"]),
    ]:
        setup = chain(stored, write("g.log", os.urandom(1024))) if "journal" in name else stored
        add(Case(f"promote-{name}", cat, [*promote, *args], setup))
    for name, model in [("dot", "a.b"), ("slash", "a/b"), ("colon", "a:b"), ("empty", ""), ("blank", "  "), ("newline", "a\nb")]:
        add(Case(f"promote-name-{name}", cat, ["promote", "--study", "s", "--name", model], stored))
    add(Case("promote-study-absent", cat, ["promote", "--study", "nosuch", "--name", "m"], stored))
    add(Case("promote-study-path-like", cat, ["promote", "--study", "../../x", "--name", "m"], stored))
    add(Case("promote-study-no-trials", cat, ["promote", "--study", "empty", "--name", "m"], stored))
    add(Case("promote-over-budget", cat, ["promote", "--study", "over", "--name", "m", "--trial", "0"], stored))
    add(Case("promote-no-chosen-point", cat, ["promote", "--study", "over", "--name", "m"], stored))
    add(Case("promote-no-name", cat, ["promote", "--study", "s"], stored))
    add(Case("promote-empty-storage", cat, [*promote, "--storage", "sqlite:///fresh.db"]))
    return c


def plan_cases() -> list[Case]:
    """plan."""
    c: list[Case] = []
    add = c.append

    # -- plan ------------------------------------------------------------------------------------------
    cat = "plan"
    for name, args, setup in [
        ("gpu-memory-text", ["--gpu-memory", "big"], None),
        ("gpu-memory-negative", ["--gpu-memory", "-80GB"], None),
        ("gpu-memory-zero", ["--gpu-memory", "0"], None),
        ("gpu-memory-unit", ["--gpu-memory", "80XB"], None),
        ("gpu-memory-nan", ["--gpu-memory", "nanGB"], None),
        ("gpu-memory-too-small", ["--gpu-memory", "1KB"], None),
        ("host-memory-text", ["--host-memory", "lots"], None),
        ("host-memory-too-small", ["--host-memory", "1KB"], None),
        ("study-missing", ["--study", "missing.yaml"], None),
        ("study-binary", ["--study", "s.yaml"], write("s.yaml", PNG)),
        ("study-bad-key", ["--study", "s.yaml"], study_file(budgte="4k")),
        ("instruct-missing-dirs", ["--instruct", "/no/such/a", "--thinking", "/no/such/b"], None),
        ("weights-garbage", PAIR, toy_pair("instruct", "garbage")),
        ("tp-not-dividing-heads", ["--backend", "vllm", "--tensor-parallel-size", "3"], None),
    ]:
        add(Case(f"plan-{name}", cat, ["plan", *args], setup))
    return c


def toy_cases() -> list[Case]:
    """toy build and path."""
    c: list[Case] = []
    add = c.append

    # -- toy --------------------------------------------------------------------------------------------
    cat = "toy"
    for name, args, setup in [
        ("build-out-exists", ["toy", "build", "--out", "t"], write("t", None)),
        ("build-out-a-file", ["toy", "build", "--out", "f"], write("f", "x")),
        ("build-out-under-a-file", ["toy", "build", "--out", "f/t", "--base-steps", "1", "--specialist-steps", "1"], write("f", "x")),
        ("build-out-read-only", ["toy", "build", "--out", "ro/t", "--base-steps", "1", "--specialist-steps", "1"], read_only("ro")),
        ("build-base-steps-zero", ["toy", "build", "--out", "t", "--base-steps", "0"], None),
        ("build-threads-text", ["toy", "build", "--out", "t", "--threads", "many"], None),
        ("path-extra-argument", ["toy", "path", "extra"], None),
        ("unknown-subcommand", ["toy", "nosuch"], None),
    ]:
        add(Case(f"toy-{name}", cat, args, setup))
    return c

"""Study files, flags, study names and --out: inputs the command reads before it loads anything."""

from __future__ import annotations

import os

from bench.bad_input_probe.case import Case
from bench.bad_input_probe.cases.common import ALIAS_BOMB, LATIN1, LONG, PAIR, PNG, SWEEP, UTF16, search_case, yaml_case
from bench.bad_input_probe.setups import chain, edit_config, files, read_only, study_file, toy_pair, write


def cases() -> list[Case]:
    """Study file format and keys, search and backend flags, names and --out."""
    c: list[Case] = []
    add = c.append

    # -- Study files that are not YAML text, or not a mapping ------------------------------------
    cat = "study file format"
    for name, content in [
        ("utf16", UTF16),
        ("utf32", "budget: 4k\n".encode("utf-32")),
        ("utf16-no-bom", "budget: 4k\n".encode("utf-16-le")),
        ("png", PNG),
        ("latin1", LATIN1),
        ("random-bytes", os.urandom(512)),
        ("bad-syntax", "name: s\nbudget: [4k\n"),
        ("tab-indent", "name: s\ntask:\n\tsearch_size: 4\n"),
        ("a-list", "- budget: 4k\n"),
        ("a-scalar", "4k\n"),
        ("empty", ""),
        ("only-comment", "# nothing here\n"),
        ("unhashable-key", "? [a, b]\n: c\n"),
        ("alias-bomb", "name: s\n" + ALIAS_BOMB),
        ("duplicate-anchor-use", "name: s\nbudget: *nope\n"),
        ("python-tag", "name: s\nbudget: !!python/object/apply:os.system ['true']\n"),
        ("multi-document", "name: s\n---\nname: t\n"),
    ]:
        add(Case(f"yaml-{name}", cat, ["--study", "s.yaml"], write("s.yaml", content)))
    add(Case("yaml-missing", cat, ["--study", "missing.yaml"]))
    add(Case("yaml-a-folder", cat, ["--study", "dir.yaml"], write("dir.yaml", None)))
    add(Case("yaml-piece-missing", cat, ["--study", "s.yaml"], write("s.yaml", "name: s\npair: nowhere.yaml\n")))
    add(Case("yaml-piece-binary", cat, ["--study", "s.yaml"], files({"s.yaml": "name: s\ntask: t.yaml\n", "t.yaml": PNG})))
    add(Case("yaml-piece-a-list", cat, ["--study", "s.yaml"], files({"s.yaml": "name: s\nspace: sp.yaml\n", "sp.yaml": "- blocks\n"})))
    add(Case("yaml-piece-a-folder", cat, ["--study", "s.yaml"], files({"s.yaml": "name: s\ndecoding: d\n", "d": None})))
    add(Case("yaml-piece-utf16", cat, ["--study", "s.yaml"], files({"s.yaml": "name: s\nhalving: h.yaml\n", "h.yaml": "level: 0.9\n".encode("utf-16")})))
    add(Case("yaml-piece-empty", cat, ["--study", "s.yaml"], files({"s.yaml": "name: s\nbackend: b.yaml\n", "b.yaml": ""})))
    add(Case("yaml-non-utf8-path", cat, ["--study", b"caf\xe9.yaml"]))
    add(Case("yaml-newline-in-path", cat, ["--study", "no\nsuch.yaml"]))

    # -- Study file keys with wrong values -------------------------------------------------------
    cat = "study file keys"
    for name, keys in [
        ("unknown-key", {"budgte": "4k"}),
        ("unknown-nested-key", {"task": {"serch_size": 4}}),
        ("name-int", {"name": 123}),
        ("name-empty", {"name": ""}),
        ("name-slash", {"name": "x/y"}),
        ("name-long", {"name": LONG}),
        ("name-newline", {"name": "a\nb"}),
        ("budget-negative", {"budget": -5}),
        ("budget-zero", {"budget": 0}),
        ("budget-text", {"budget": "lots"}),
        ("budget-fraction", {"budget": 4.5}),
        ("budget-list", {"budget": [4000]}),
        ("budget-bool", {"budget": True}),
        ("budget-inf", {"budget": float("inf")}),
        ("budget-nan", {"budget": float("nan")}),
        ("trials-negative", {"trials": -1}),
        ("trials-text", {"trials": "many"}),
        ("trials-fraction", {"trials": 1.5}),
        ("k-zero", {"k": 0}),
        ("k-text", {"k": "two"}),
        ("k-huge", {"k": 10**9}),
        ("seed-text", {"seed": "x"}),
        ("seed-negative", {"seed": -1}),
        ("seed-huge", {"seed": 2**70}),
        ("sampler-unknown", {"sampler": "cmaes"}),
        ("sampler-int", {"sampler": 1}),
        ("choose-unknown", {"choose": "worst"}),
        ("objectives-unknown", {"objectives": {"accuracy": "f1"}}),
        ("objectives-scalar", {"objectives": "accuracy"}),
        ("seed-lambdas-out-of-range", {"seed_lambdas": [0, 2]}),
        ("seed-lambdas-negative", {"seed_lambdas": [-0.1]}),
        ("seed-lambdas-text", {"seed_lambdas": "0,1"}),
        ("seed-lambdas-nan", {"seed_lambdas": [float("nan")]}),
        ("halving-rungs-empty", {"halving": {"rungs": []}}),
        ("halving-rungs-not-ending-at-1", {"halving": {"rungs": [0.5]}}),
        ("halving-rungs-decreasing", {"halving": {"rungs": [1.0, 0.5, 1.0]}}),
        ("halving-rungs-zero", {"halving": {"rungs": [0.0, 1.0]}}),
        ("halving-rungs-text", {"halving": {"rungs": "quarter"}}),
        ("halving-level-zero", {"halving": {"level": 0}}),
        ("halving-level-one", {"halving": {"level": 1}}),
        ("halving-level-percent", {"halving": {"level": 95}}),
        ("halving-unknown-key", {"halving": {"rung": [1.0]}}),
        ("space-kind-unknown", {"space": {"kind": "heads"}}),
        ("space-blocks-zero", {"space": {"kind": "blocks", "blocks": 0}}),
        ("space-blocks-more-than-layers", {"space": {"kind": "blocks", "blocks": 1000}}),
        ("space-knots-one", {"space": {"kind": "profile", "knots": 1}}),
        ("space-knots-more-than-layers", {"space": {"kind": "profile", "knots": 100}}),
        ("space-layers-wrong", {"space": {"kind": "layers", "layers": 5}}),
        ("space-modules-unknown", {"space": {"kind": "modules", "modules": ["heads"]}}),
        ("space-modules-empty", {"space": {"kind": "modules", "modules": []}}),
        ("space-modules-repeated", {"space": {"kind": "modules", "modules": ["mlp", "mlp"]}}),
        ("space-modules-absent-in-model", {"space": {"kind": "modules", "modules": ["experts"]}}),
        ("space-temperature-reversed", {"space": {"decoding": {"temperature": [1.0, 0.0]}}}),
        ("space-temperature-negative", {"space": {"decoding": {"temperature": [-1.0, 1.0]}}}),
        ("space-top-p-over-one", {"space": {"decoding": {"top_p": [0.5, 2.0]}}}),
        ("space-top-p-zero", {"space": {"decoding": {"top_p": [0.0, 0.5]}}}),
        ("space-max-new-tokens-zero", {"space": {"decoding": {"max_new_tokens": [0, 8]}}}),
        ("space-max-new-tokens-empty", {"space": {"decoding": {"max_new_tokens": []}}}),
        ("space-temperature-one-value", {"space": {"decoding": {"temperature": [0.5]}}}),
        ("decoding-temperature-negative", {"decoding": {"temperature": -1}}),
        ("decoding-top-p-zero", {"decoding": {"top_p": 0}}),
        ("decoding-top-p-over-one", {"decoding": {"top_p": 1.5}}),
        ("decoding-top-k-negative", {"decoding": {"top_k": -1}}),
        ("decoding-max-new-tokens-zero", {"decoding": {"max_new_tokens": 0}}),
        ("decoding-temperature-nan", {"decoding": {"temperature": float("nan")}}),
        ("decoding-unknown-key", {"decoding": {"temp": 0.5}}),
        ("task-name-unknown", {"task": {"name": "mmlu"}}),
        ("task-pool-one", {"task": {"pool": 1}}),
        ("task-pool-text", {"task": {"pool": "all"}}),
        ("task-holdout-fraction-zero", {"task": {"holdout_fraction": 0}}),
        ("task-holdout-fraction-one", {"task": {"holdout_fraction": 1}}),
        ("task-search-size-zero", {"task": {"search_size": 0}}),
        ("task-holdout-size-negative", {"task": {"holdout_size": -4}}),
        ("task-data-files-on-toy", {"task": {"data_files": "x.jsonl"}}),
        ("task-data-files-missing", {"task": {"name": "aime25", "data_files": "missing.jsonl"}}),
        ("task-prompt-suffix-int", {"task": {"prompt_suffix": 5}}),
        ("task-scalar", {"task": 5}),
        ("pair-instruct-only", {"pair": {"instruct": "pair/instruct"}}),
        ("pair-missing-dirs", {"pair": {"instruct": "/no/such/a", "thinking": "/no/such/b"}}),
        ("pair-bundled-unknown", {"pair": {"bundled": "big"}}),
        ("pair-chat-template-unknown", {"pair": {"chat_template": "mine"}}),
        ("pair-trust-remote-code-text", {"pair": {"trust_remote_code": "maybe"}}),
        ("pair-scalar", {"pair": 5}),
        ("backend-unknown", {"backend": "tgi"}),
        ("backend-list", {"backend": ["hf"]}),
        ("backend-other-backends-key", {"backend": {"kind": "vllm", "device": "cpu"}}),
        ("backend-hf-vllm-key", {"backend": {"kind": "hf", "max_model_len": 512}}),
        ("backend-device-tpu", {"backend": {"device": "tpu"}}),
        ("backend-device-int", {"backend": {"device": 0}}),
        ("backend-dtype-float8", {"backend": {"dtype": "float8"}}),
        ("backend-batch-size-zero", {"backend": {"batch_size": 0}}),
        ("backend-sources-disk", {"backend": {"sources": "disk"}}),
        ("backend-vllm-max-model-len-tiny", {"backend": {"kind": "vllm", "max_model_len": 10}}),
        ("backend-vllm-gpu-share-over-one", {"backend": {"kind": "vllm", "gpu_memory_utilization": 1.5}}),
        ("backend-vllm-tp-zero", {"backend": {"kind": "vllm", "tensor_parallel_size": 0}}),
        ("backend-vllm-block-size-zero", {"backend": {"kind": "vllm", "block_size": 0}}),
    ]:
        add(yaml_case(f"key-{name}", study_file(**keys)))
    add(yaml_case("key-pair-mismatched-architectures", chain(study_file(pair={"instruct": "pair/instruct", "thinking": "pair/thinking"}), toy_pair("thinking", edit=edit_config(hidden_size=96)))))

    # -- Search flags ------------------------------------------------------------------------------
    cat = "search flags"
    for name, flags in [
        ("budget-text", ["--budget", "lots"]),
        ("budget-negative", ["--budget", "-5"]),
        ("budget-zero", ["--budget", "0"]),
        ("budget-fraction", ["--budget", "4.5"]),
        ("budget-empty", ["--budget", ""]),
        ("budget-unit", ["--budget", "4kb"]),
        ("trials-text", ["--trials", "many"]),
        ("trials-negative", ["--trials", "-1"]),
        ("space-unknown", ["--space", "heads"]),
        ("sampler-unknown", ["--sampler", "cmaes"]),
        ("seed-text", ["--seed", "x"]),
        ("seed-negative", ["--seed", "-1"]),
        ("seed-huge", ["--seed", str(2**40)]),
        ("k-zero", ["--k", "0"]),
        ("k-text", ["--k", "two"]),
        ("search-size-zero", ["--search-size", "0"]),
        ("task-unknown", ["--task", "mmlu"]),
        ("data-file-missing", ["--task", "aime25", "--data-file", "missing.jsonl"]),
        ("pair-unknown", ["--pair", "big"]),
        ("pair-and-instruct", ["--pair", "toy", *PAIR]),
        ("instruct-only", ["--instruct", "somewhere"]),
        ("instruct-missing-dirs", ["--instruct", "/no/such/a", "--thinking", "/no/such/b"]),
        ("heartbeat-zero", ["--heartbeat", "0"]),
        ("heartbeat-text", ["--heartbeat", "often"]),
        ("unknown-option", ["--budgte", "4k"]),
        ("option-without-value", ["--budget"]),
        ("unknown-command", ["serach"]),
        ("promote-name-dot", ["--promote", "a.b"]),
        ("promote-name-slash", ["--promote", "a/b"]),
        ("promote-name-empty", ["--promote", ""]),
    ]:
        add(search_case(f"search-{name}", cat, *flags))
    for name, content, flags in [
        ("data-file-binary", PNG, ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-empty", b"", ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-wrong-columns", b'{"q": "1+1", "a": "2"}\n', ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-broken-jsonl", b'{"problem": "1+1", "answer": "2"}\n{"problem": \n', ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-utf16", '{"problem": "1+1", "answer": "2"}\n'.encode("utf-16"), ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-empty-answer", b'{"problem": "1+1", "answer": ""}\n', ["--task", "aime25", "--data-file", "d.jsonl"]),
        ("data-file-gpqa-missing-option", b'{"Question": "q", "Correct Answer": "a", "Incorrect Answer 1": "b"}\n', ["--task", "gpqa-diamond", "--data-file", "d.jsonl"]),
    ]:
        add(search_case(f"search-{name}", "task data", *flags, setup=write("d.jsonl", content)))
    add(search_case("search-data-file-a-folder", "task data", "--task", "aime25", "--data-file", "d.jsonl", setup=write("d.jsonl", None)))
    add(search_case("search-data-file-wrong-suffix", "task data", "--task", "aime25", "--data-file", "d.txt", setup=write("d.txt", "x\n")))

    # -- Backend flags (search, sweep, worker, plan share them) ------------------------------------
    cat = "backend flags"
    for name, flags in [
        ("backend-unknown", ["--backend", "tgi"]),
        ("device-tpu", ["--device", "tpu"]),
        ("device-cuda-absent", ["--device", "cuda"]),
        ("device-cuda-index", ["--device", "cuda:7"]),
        ("device-cuda-text-index", ["--device", "cuda:x"]),
        ("device-meta", ["--device", "meta"]),
        ("device-mps", ["--device", "mps"]),
        ("device-empty", ["--device", ""]),
        ("dtype-float8", ["--dtype", "float8"]),
        ("dtype-int8", ["--dtype", "int8"]),
        ("dtype-empty", ["--dtype", ""]),
        ("batch-size-zero", ["--batch-size", "0"]),
        ("batch-size-text", ["--batch-size", "big"]),
        ("sources-disk", ["--sources", "disk"]),
        ("max-model-len-on-hf", ["--max-model-len", "512"]),
        ("max-model-len-tiny", ["--max-model-len", "8"]),
        ("gpu-share-on-hf", ["--gpu-memory-utilization", "0.5"]),
        ("gpu-share-nan", ["--backend", "vllm", "--gpu-memory-utilization", "nan"]),
        ("gpu-share-over-one", ["--backend", "vllm", "--gpu-memory-utilization", "2"]),
        ("tp-zero", ["--tensor-parallel-size", "0"]),
        ("vllm-with-device", ["--backend", "vllm", "--device", "cpu"]),
        ("vllm-tp-more-than-heads", ["--backend", "vllm", "--tensor-parallel-size", "64"]),
        ("vllm-tp-not-dividing-heads", ["--backend", "vllm", "--tensor-parallel-size", "3"]),
    ]:
        add(search_case(f"search-{name}", cat, *flags))
    add(Case("sweep-device-tpu", cat, [*SWEEP[:-2], "--device", "tpu", "--out", "sw"]))
    add(Case("sweep-dtype-float8", cat, [*SWEEP, "--dtype", "float8", "--out", "sw"]))
    add(Case("plan-device-tpu", cat, ["plan", "--device", "tpu"]))
    add(Case("plan-tp-zero", cat, ["plan", "--backend", "vllm", "--tensor-parallel-size", "0"]))

    # -- Where a study writes: --study names, --out ---------------------------------------------------
    cat = "study names and --out"
    for name, study in [
        ("abs-dir", "/abs/dir"),
        ("dotdot", "../../x"),
        ("dot", "."),
        ("dotdot-only", ".."),
        ("slash", "x/y"),
        ("backslash", "x\\y"),
        ("long", LONG),
        ("empty", ""),
        ("space", "a b"),
        ("leading-dash", "-x"),
        ("newline", "a\nb"),
        ("nul-free-control", "a\tb"),
    ]:
        add(Case(f"study-name-{name}", cat, ["--budget", "4k", "--study", study, "--trials", "0"]))
    add(search_case("out-an-existing-file", cat, "--out", "report", setup=write("report", "not a folder")))
    add(search_case("out-a-folder-of-other-files", cat, "--out", "folder", setup=write("folder/notes.txt", "mine")))
    add(search_case("out-read-only", cat, "--out", "ro/study", setup=read_only("ro")))
    add(search_case("out-under-a-file", cat, "--out", "report/sub", setup=write("report", "a file")))
    add(search_case("out-in-proc", cat, "--out", "/proc/mi-search-probe"))
    add(search_case("out-empty", cat, "--out", ""))
    add(search_case("out-root", cat, "--out", "/"))
    add(search_case("out-newline", cat, "--out", "a\nb", setup=write("a\nb", "a file")))
    return c

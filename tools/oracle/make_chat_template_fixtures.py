#!/usr/bin/env python3
"""Writes chat-template parity fixtures with Python Jinja2, set up the way Hugging Face transformers
renders `apply_chat_template`, as the oracle.

Inputs (engine/src/test/resources/chat-templates/):
  corpus.json          model id -> {chat_template, bos_token, eos_token, pad_token, unk_token}: real
                       tokenizer_config.json fields of ~170 hub models (see SOURCES.md); a chat_template
                       is a string or a list of {"name", "template"} (the hub's multi-template form)
  conversations.json   named conversations, extra-variable sets, the popular models that get the full
                       matrix, and the fixed clock strftime_now reads
  features.json        small templates, one per Jinja/Python feature templates rely on (str methods,
                       slices, loop variables, namespace, tests, filters, tojson, whitespace control, ...),
                       rendered as models named "feature:NAME" with the special tokens given there
Output:
  expected.jsonl       one case per line: {"model", "conversation", "add_generation_prompt", "extra",
                       "output"} or, where the template raised, {..., "error"} (the raise_exception
                       message; "error_type" says when Jinja2 itself failed, e.g. an undefined attribute)

The environment is transformers' (utils/chat_template_utils.py, _compile_jinja_template):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, loopcontrols, {% generation %}), a tojson filter that
does not escape HTML and takes indent/separators/sort_keys, raise_exception -> TemplateError,
strftime_now; render(messages=..., tools=None, documents=None, add_generation_prompt=..., **special
tokens, **extra). Only jinja2 is needed (3.1.6 wrote the committed file):

  python3 tools/oracle/make_chat_template_fixtures.py engine/src/test/resources/chat-templates

`--import-openvino FILE` rewrites corpus.json from openvino.genai's tests/python_tests/data/
tokenizer_configs.py (how corpus.json was made; SOURCES.md names the commit).
"""
import datetime
import importlib.util
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def token_text(value):
    """tokenizer_config.json spells a special token as a string or as an AddedToken object."""
    if isinstance(value, dict):
        return value.get("content")
    return value


class GenerationBlock(jinja2.ext.Extension):
    """transformers' AssistantTracker without the mask bookkeeping: {% generation %} renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller):
        return caller()


def environment(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return now.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def default_template(chat_template, extra):
    """The hub's list form: transformers picks "tool_use" when tools are given and it exists, else "default"."""
    if isinstance(chat_template, str):
        return chat_template
    by_name = {t["name"]: t["template"] for t in chat_template}
    if extra.get("tools") is not None and "tool_use" in by_name:
        return by_name["tool_use"]
    return by_name["default"]


def render(env, config, messages, add_generation_prompt, extra):
    template = env.from_string(default_template(config["chat_template"], extra))
    tokens = {k: token_text(config[k]) for k in SPECIAL_TOKENS if token_text(config.get(k)) is not None}
    variables = {"tools": None, "documents": None, **tokens, **extra}
    return template.render(messages=messages, add_generation_prompt=add_generation_prompt, **variables)


def cases(corpus, spec):
    for model in corpus:
        if model.startswith("feature:"):
            for conversation in spec["feature_conversations"]:
                yield model, conversation, True, "tools"
            continue
        full = model in spec["popular"]
        conversations = list(spec["conversations"]) if full else spec["corpus_conversations"]
        for conversation in conversations:
            for agp in ((False, True) if full else (True,)):
                yield model, conversation, agp, None
        if full:
            for extra_name in spec["popular"][model]:
                for conversation in spec["extra_conversations"]:
                    yield model, conversation, True, extra_name


def main(out_dir):
    with open(os.path.join(out_dir, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    with open(os.path.join(out_dir, "conversations.json"), encoding="utf-8") as f:
        spec = json.load(f)
    with open(os.path.join(out_dir, "features.json"), encoding="utf-8") as f:
        features = json.load(f)
    for name, template in features["templates"].items():
        corpus["feature:" + name] = {**features["special_tokens"], "chat_template": template}
    env = environment(datetime.datetime.fromisoformat(spec["now"]))
    n = errors = 0
    with open(os.path.join(out_dir, "expected.jsonl"), "w", encoding="utf-8") as out:
        for model, conversation, agp, extra_name in cases(corpus, spec):
            extra = spec["extras"][extra_name] if extra_name else {}
            case = {"model": model, "conversation": conversation, "add_generation_prompt": agp, "extra": extra_name}
            try:
                case["output"] = render(env, corpus[model], spec["conversations"][conversation], agp, extra)
            except jinja2.exceptions.TemplateSyntaxError:
                raise
            except jinja2.exceptions.UndefinedError as e:
                case["error_type"] = "UndefinedError"
                case["error"] = str(e)
            except jinja2.exceptions.TemplateError as e:
                case["error"] = str(e)
            except Exception as e:  # a template bug Jinja2 reports as a Python error (e.g. str + None)
                case["error_type"] = type(e).__name__
                case["error"] = str(e)
            errors += "error" in case
            n += 1
            out.write(json.dumps(case, ensure_ascii=False) + "\n")
    print(f"{n} cases ({errors} raise) with jinja2 {jinja2.__version__}", file=sys.stderr)


def import_openvino(path, out_dir):
    spec = importlib.util.spec_from_file_location("tokenizer_configs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    corpus = {}
    for model, config in module.get_tokenizer_configs().items():
        entry = {k: v for k, v in config.items() if k != "chat_template"}
        template = config["chat_template"]
        # the hub stores several named templates as a list of {"name", "template"}
        entry["chat_template"] = ([{"name": k, "template": v} for k, v in template.items()]
                                  if isinstance(template, dict) else template)
        corpus[model] = entry
    with open(os.path.join(out_dir, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(corpus, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--import-openvino":
        import_openvino(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2:
        main(sys.argv[1])
    else:
        sys.exit(__doc__)

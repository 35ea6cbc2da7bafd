"""The sandboxed Jinja environment every template renders in, and the code it compiles to.

:class:`_BoundedEnvironment` is Jinja's immutable sandbox with every hook counted against the
render's budget: attribute and item lookups, calls (with their depth and the methods of text
guarded), operators and ``str.format``. :class:`_BoundedCodeGenerator` routes through those hooks
what the sandbox does not see: loops, literals, ``~`` and comparisons. Pydantic models (``goal``,
``criterion``) expose their fields and goalctl's own members, never pydantic's methods.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Callable, Iterable
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from markupsafe import EscapeFormatter, Markup
from pydantic import BaseModel

from goalctl.templates.compiling import BoundedParser, check_code_size, compile_step
from goalctl.templates.guards import (
    _bounded_filter,
    _counted_test,
    _guard_add,
    _guard_method,
    _guard_mult,
    _guard_percent,
    _guard_power,
    _tojson,
)
from goalctl.templates.limits import (
    _BUDGET,
    DEFAULT_TIMEOUT,
    MAX_CALL_DEPTH,
    MAX_SIZE,
    TemplateLimitError,
    _built,
    _check_size,
    _counted,
    _produce,
    _size,
    _start,
    _stop,
    _tick,
    _too_large,
)


class _BoundedCodeGenerator(CodeGenerator):
    """Routes what the sandbox hooks do not see through the environment: loops, literals,
    ``~`` and comparisons cost time or memory without a call or an attribute lookup."""

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        compile_step()
        return super().visit(node, *args, **kwargs)

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        # Jinja allows no custom node types: a node templates cannot write marks the iterable.
        iterable = node.iter
        counter = nodes.EnvironmentAttribute("bounded_iter", lineno=iterable.lineno)
        node.iter = nodes.Call(counter, [iterable], [], None, None, lineno=iterable.lineno)
        try:
            super().visit_For(node, frame)
        finally:
            node.iter = iterable

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        counter = node.node
        if isinstance(counter, nodes.EnvironmentAttribute) and counter.name == "bounded_iter":
            self.write("environment.bounded_iter(")
            self.visit(node.args[0], frame)
            self.write(")")
            return
        super().visit_Call(node, frame, forward_caller=forward_caller)

    def _bounded(self, visit: Callable[[], None]) -> None:
        self.write("environment.bounded_value(")
        visit()
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._bounded(lambda: super(_BoundedCodeGenerator, self).visit_List(node, frame))

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._bounded(lambda: super(_BoundedCodeGenerator, self).visit_Dict(node, frame))

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # an assignment target: `{% for key, value in ... %}`
            super().visit_Tuple(node, frame)
            return
        self._bounded(lambda: super(_BoundedCodeGenerator, self).visit_Tuple(node, frame))

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_values((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("environment.compared(")
        super().visit_Compare(node, frame)
        self.write(")")


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` with every field's width and precision counted before it is written."""

    def __init__(self, env: jinja2.Environment, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        self.size = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        _tick()
        self.size += len(format_spec) + (len(value) if isinstance(value, str) else _size(value))
        for number in re.findall(r"\d+", format_spec):
            self.size += int(number) if len(number) <= 7 else MAX_SIZE + 1
        if self.size > MAX_SIZE:
            raise _too_large("the result of format()")
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(_BoundedFormatter, EscapeFormatter):
    pass


_SCOPE_ARGUMENTS = ("_loop_vars", "_block_vars")


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with every operation counted and every size checked."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return BoundedParser(self, source, name, filename).parse()

    def _compile(self, source: str, filename: str) -> types.CodeType:
        check_code_size(source)
        return super()._compile(source, filename)

    def getattr(self, obj: Any, attribute: str) -> Any:
        budget = _BUDGET.get()
        if budget is not None:  # tick() inlined: the most frequent hook
            budget.operations += 1
            if budget.operations > budget.checkpoint:
                budget.check()
        if _is_model(type(obj)) and not _model_allows(type(obj), attribute):
            return self.unsafe_undefined(obj, attribute)  # refused before it runs a property
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        if (
            isinstance(argument, str)
            and _is_model(type(obj))
            and not _model_allows(type(obj), argument)
        ):
            return self.unsafe_undefined(obj, argument)
        return super().getitem(obj, argument)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # The sandbox decides by the object's type and the name alone (private names, function
        # internals, methods that mutate): remember its answers, they are asked on every lookup.
        key = (type(obj), attr)
        safe = _SAFE_ATTRIBUTES.get(key)
        if safe is None:
            safe = super().is_safe_attribute(obj, attr, value) and _model_allows(type(obj), attr)
            if len(_SAFE_ATTRIBUTES) < 4096:
                _SAFE_ATTRIBUTES[key] = safe
        return safe

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        if budget is None:
            return super().call(context, obj, *args, **kwargs)
        budget.tick()
        # Jinja's own bookkeeping: the variables of the enclosing loops and blocks.
        scopes = {name: kwargs.pop(name) for name in _SCOPE_ARGUMENTS if name in kwargs}
        # Arguments are not measured: what a call builds is (below), and so is every value
        # printed, joined, formatted or given to a filter.
        if isinstance(obj, LoopContext) and args:  # a recursive loop's next level
            args = (self.bounded_iter(args[0]), *args[1:])
        args, kwargs = _guard_method(obj, args, kwargs)
        budget.depth += 1
        try:
            if budget.depth > MAX_CALL_DEPTH:
                raise TemplateLimitError(
                    f"template exceeded its limit of {MAX_CALL_DEPTH} nested calls "
                    "(a macro or a recursive loop that never ends?)"
                )
            result = super().call(context, obj, *args, **kwargs, **scopes)
        finally:
            budget.depth -= 1
        return _built(result, "the result of a call")

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        _tick()
        if operator == "*":
            _guard_mult(left, right)
        elif operator == "+":
            _guard_add(left, right)
        elif operator == "**":
            _guard_power(left, right)
        elif operator == "%":
            _guard_percent(left, right)
        return _built(self.binop_table[operator](left, right), f"the result of {operator!r}")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
            value.__name__ not in ("format", "format_map")
        ):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        is_format_map = value.__name__ == "format_map"

        def format_bounded(*args: Any, **kwargs: Any) -> str:
            formatter: _BoundedFormatter
            if isinstance(text, Markup):
                formatter = _BoundedEscapeFormatter(self, escape=text.escape)
            else:
                formatter = _BoundedFormatter(self)
            if not is_format_map:
                return type(text)(formatter.vformat(text, args, kwargs))
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one argument")
            return type(text)(formatter.vformat(text, (), args[0]))

        return functools.update_wrapper(format_bounded, value)

    # Hooks the generated code of _BoundedCodeGenerator calls.

    def bounded_iter(self, iterable: Any) -> Any:
        budget = _BUDGET.get()
        return iterable if budget is None else _counted(iterable, budget)

    def bounded_value(self, value: Any) -> Any:
        _tick()
        return _built(value, "a list or mapping")

    def compared(self, result: Any) -> Any:
        _tick()  # after the fact: comparing values of MAX_SIZE takes milliseconds, not hours
        return result

    def concat_values(self, parts: tuple[Any, ...]) -> str:
        _tick()
        texts = []
        for part in parts:
            if type(part) is not str:
                _check_size(part, "a value joined with '~'")
                part = str(part)
            texts.append(part)
        _produce(sum(map(len, texts)), "the result of '~'")
        return "".join(texts)

    def concat(self, parts: Iterable[str]) -> str:
        # The body of a macro, a `{% set %}` block or a `{% filter %}` block, before it is used.
        items = parts if isinstance(parts, list) else list(parts)
        _produce(sum(map(len, items)), "the text of a block or macro")
        return "".join(items)

    def compile_expression(
        self, source: str, undefined_to_none: bool = True
    ) -> jinja2.environment.TemplateExpression:
        expression = super().compile_expression(source, undefined_to_none)
        return _BoundedExpression(expression._template, expression._undefined_to_none)


class _BoundedExpression(jinja2.environment.TemplateExpression):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        token = _start(DEFAULT_TIMEOUT)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            _stop(token)


_SAFE_ATTRIBUTES: dict[tuple[type, str], bool] = {}
_MODEL_TYPES: dict[type, bool] = {}


def _is_model(cls: type) -> bool:
    """A pydantic model or model class (``goal``, ``criterion``): their attributes are checked
    before they are read."""
    model = _MODEL_TYPES.get(cls)
    if model is None:
        model = issubclass(cls, BaseModel | type(BaseModel))
        if len(_MODEL_TYPES) < 4096:
            _MODEL_TYPES[cls] = model
    return model


_MODEL_ATTRIBUTES: dict[tuple[type, str], bool] = {}


def _model_allows(cls: type, attr: str) -> bool:
    key = (cls, attr)
    allowed = _MODEL_ATTRIBUTES.get(key)
    if allowed is None:
        allowed = _model_attribute_is_safe(cls, attr)
        if len(_MODEL_ATTRIBUTES) < 4096:
            _MODEL_ATTRIBUTES[key] = allowed
    return allowed


def _model_attribute_is_safe(cls: Any, attr: str) -> bool:
    """On models, fields and what goalctl's own models define; never pydantic's methods, some of
    which read files (``parse_file``) or change the class for every later use (``model_rebuild``).
    Model classes themselves offer nothing."""
    if issubclass(cls, type(BaseModel)):
        return False
    if not issubclass(cls, BaseModel):
        return True
    if attr in cls.model_fields:
        return True
    for klass in cls.__mro__:
        if attr in vars(klass):
            return str(klass.__module__).startswith("goalctl.")
    return False


def _finalize(value: Any) -> Any:
    if type(value) is not str:
        _check_size(value, "a printed value")
    return value


@functools.cache
def environment(*, html: bool = False) -> ImmutableSandboxedEnvironment:
    """The Jinja environment: immutable sandbox, strict undefined; autoescape only for
    ``html`` (goalctl's HTML pages, whose values are scenario text from strangers), never for
    prompts, which are text."""
    env = _BoundedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        finalize=_finalize,
        # Jinja's constant folding re-walks the whole subtree at every level of a nested
        # expression: quadratic, 11 s for 9 KB of `x.a.a.a...`. Prompts have little to fold.
        optimized=False,
    )
    # Smaller surface: these helpers have no use in prompts and widen what an attacker can probe.
    for name in ("cycler", "joiner", "lipsum"):
        env.globals.pop(name, None)
    env.filters["tojson"] = _tojson
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.filters.update({name: _bounded_filter(name, f) for name, f in env.filters.items()})
    env.tests.update({name: _counted_test(f) for name, f in env.tests.items()})
    return env

"""Hostile strings in any field a template writes never become statements of their own.

Validation already rejects control characters in every input file; these tests bypass it and put
hostile values straight into each template's context, so the renderers' own escaping is proven.
"""
from __future__ import annotations

import re
from dataclasses import fields, is_dataclass, replace
from typing import Any

import jinja2
import pytest
from lxml import etree

from controller.config.render import context, render_template
from controller.errors import InputError
from controller.southbound.netconf.payload import _env, interfaces_for
from tests.unit.test_render_platforms import PLATFORM, topo  # noqa: F401  (fixture)

LINE_BREAKERS = ["evil\n shutdown", "evil\r\nrwcommunity x", "evil\x00", "evil\u2028extend x",
                 "evil\x1b[2J", "evil\x85next"]
QUOTE_BREAKERS = ['evil"; } system { root-authentication { plain-text-password', 'evil\\', '"']


def string_leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(path, text) of every string inside dicts, lists and dataclasses of a template context."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in string_leaves(v, path + (k,))]
    if isinstance(value, (list, tuple)):
        return [leaf for i, v in enumerate(value) for leaf in string_leaves(v, path + (i,))]
    if is_dataclass(value) and not isinstance(value, type):
        return [leaf for f in fields(value)
                for leaf in string_leaves(getattr(value, f.name), path + (f.name,))]
    return []


def with_leaf(value: Any, path: tuple, new: str) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = dict(value)
        out[head] = with_leaf(value[head], rest, new)
        return out
    if isinstance(value, (list, tuple)):
        items = list(value)
        items[head] = with_leaf(value[head], rest, new)
        return type(value)(items)
    return replace(value, **{head: with_leaf(getattr(value, head), rest, new)})


def rendered_leaves(name: str, ctx: dict) -> list[tuple[tuple, str]]:
    """The context strings a template writes out: a unique marker put there shows up."""
    out = []
    for i, (path, value) in enumerate(string_leaves(ctx)):
        if path[0] in ("platform", "policy"):
            continue
        try:
            text = render_template(name, with_leaf(ctx, path, f"zq{i}marker"))
        except (InputError, OSError, jinja2.UndefinedError):  # a key or a value checked itself
            continue
        if f"zq{i}marker" in text:
            out.append((path, value))
    return out


@pytest.mark.parametrize("router", sorted(PLATFORM) + ["osl-cr1"])
def test_no_value_can_break_a_config_line(topo, router):  # noqa: F811
    ctx = context(topo, router)
    name = ctx["platform"]["template"]
    leaves = rendered_leaves(name, ctx)
    assert len(leaves) >= 5, leaves  # hostname, interface names, peers, links, addresses ...
    for path, _ in leaves:
        for hostile in LINE_BREAKERS:
            with pytest.raises(InputError, match="control character"):
                render_template(name, with_leaf(ctx, path, hostile))
    for ifname in ctx["interfaces"]:  # interface names are keys, not values
        renamed = {("evil\n shutdown" if k == ifname else k): v
                   for k, v in ctx["interfaces"].items()}
        try:  # refused, or (junos/eos map model names to ports) never written as such
            assert "evil" not in render_template(name, ctx | {"interfaces": renamed})
        except jinja2.UndefinedError:
            pass
        except InputError as exc:
            assert "control character" in str(exc)


JUNOS_QUOTED = re.compile(r'^\s*(description|message) "((?:[^"\\]|\\.)*)";$')


def test_junos_values_stay_one_word_or_one_quoted_string(topo):  # noqa: F811
    router = next(r for r, p in PLATFORM.items() if p == "junos")
    ctx = context(topo, router)
    name = ctx["platform"]["template"]
    benign = render_template(name, ctx).splitlines()
    quoted = 0
    for path, _ in rendered_leaves(name, ctx):
        for hostile in QUOTE_BREAKERS:
            try:
                lines = render_template(name, with_leaf(ctx, path, hostile)).splitlines()
            except InputError as exc:
                assert "not a single word" in str(exc)
                continue
            changed = [line for line, old in zip(lines, benign) if line != old]
            assert len(lines) == len(benign) and changed
            assert all(JUNOS_QUOTED.match(line) for line in changed), changed
            quoted += 1
    assert quoted  # descriptions and the banner are quoted, not refused


@pytest.mark.parametrize("hostile", ["</description><enabled>false</enabled><description>",
                                     "a & b <!-- c -->", "]]>]]>"])
def test_netconf_payload_text_is_escaped(topo, hostile):  # noqa: F811
    intents = interfaces_for(topo, "osl-cr1")
    evil = [replace(i, description=hostile) for i in intents]
    xml = _env().get_template("ietf-interfaces.xml.j2").render(interfaces=evil)
    root = etree.fromstring(xml.encode())
    good = etree.fromstring(_env().get_template("ietf-interfaces.xml.j2").render(
        interfaces=intents).encode())
    assert [e.tag for e in root.iter()] == [e.tag for e in good.iter()]
    assert {e.text for e in root.iter() if e.tag.endswith("description")} == {hostile}


def test_netconf_payload_refuses_control_characters(topo):  # noqa: F811
    intents = [replace(i, description="x\x00y") for i in interfaces_for(topo, "osl-cr1")]
    with pytest.raises(InputError):
        _env().get_template("ietf-interfaces.xml.j2").render(interfaces=intents)

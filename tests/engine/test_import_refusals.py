"""What the importers refuse, as golden text: the exact FILE:LINE:COL (and, for JDM, the JSON
path) and message of each refusal, and a hostile XML document refused before any expansion."""
from __future__ import annotations

import json

from ordinance.engine.importers import import_dmn, import_jdm
from tests.engine.importing import DATA


def rendered(result: object) -> list[str]:
    return [d.render(with_source=False) for d in result.diagnostics]  # type: ignore[attr-defined]


def test_dmn_refusals_name_each_element() -> None:
    result = import_dmn((DATA / "dmn" / "refused.dmn").read_text(), "refused.dmn")
    assert result.pack is None
    assert rendered(result) == [
        "refused.dmn:8:3: error: <businessKnowledgeModel> 'Pricing Function' is not carried "
        "over: a pack holds decision tables over the order, not functions or other models",
        "refused.dmn:12:14: error: decision 'Band', input 2: the function string length(...) "
        "is not carried over: 'string length(Score)'\n"
        "    hint: map the input to an order path with --map 'NAME=order.PATH'",
        "refused.dmn:15:21: error: decision 'Band', rule 1, input 1: the name 'Score' refers to "
        "a value; a rule-language cell tests literals only: '< Score'\n"
        "    hint: cells are -, literals, comparisons, intervals, lists and not(...)",
        "refused.dmn:21:21: error: decision 'Band', rule 2, input 2: the function starts "
        "with(...) is not carried over into a cell: 'starts with(\"A\")'\n"
        "    hint: cells are -, literals, comparisons, intervals, lists and not(...)",
        "refused.dmn:22:22: error: decision 'Band', rule 2, output 1: a context has no "
        "equivalent in the rule language: '{ \"band\": \"adult\" }'",
        "refused.dmn:27:5: error: decision 'Greeting': a <literalExpression> is not carried "
        "over; only decision tables are",
        "refused.dmn:30:5: error: decision 'Priced' invokes a business knowledge model: not "
        "carried over",
        "refused.dmn:31:5: error: COLLECT SUM over 2 outputs is not carried over (one output, "
        "SUM, MIN, MAX or COUNT)"]


def test_jdm_refusals_give_the_json_path_and_the_place() -> None:
    name = "decision-table-shipping.json"
    result = import_jdm((DATA / "jdm" / name).read_text(), name)
    assert result.pack is None
    assert rendered(result) == [
        f"{name}:25:13: error: $.nodes[1].content.inputs[0].field: the function sum(...) is not "
        "carried over: 'sum(map(cart.items, #.unitPrice * #.quantity))'\n"
        "    hint: map the column to an order path with --map 'FIELD=order.PATH'",
        *[f"{name}:{line}:13: error: $.nodes[1].content.rules[{r}][\"table-1-in2\"]: the "
          "function contains(...) is not carried over into a cell: 'contains($, \"premium\")'\n"
          "    hint: cells are literals, comparisons, intervals, lists and not(...)"
          for r, line in ((0, 61), (1, 69), (2, 77))]]


def test_jdm_nodes_other_than_tables_are_refused() -> None:
    doc = {"nodes": [
        {"id": "in", "type": "inputNode", "name": "Request"},
        {"id": "sw", "type": "switchNode", "name": "Route", "content": {}},
        {"id": "ex", "type": "expressionNode", "name": "Compute", "content": {}},
        {"id": "t", "type": "decisionTableNode", "name": "T", "content": {
            "hitPolicy": "first", "executionMode": "loop",
            "inputs": [{"id": "i1", "field": "a"}], "outputs": [{"id": "o1", "field": "x[]"}],
            "rules": [{"_id": "r1", "i1": "> 1", "o1": "1"}]}}],
        "edges": []}
    text = json.dumps(doc, indent=1)
    assert rendered(import_jdm(text, "g.json")) == [
        "g.json:9:4: error: $.nodes[1]: switchNode 'Route' is not carried over: only decision "
        "tables are\n    hint: rewrite its logic as a decision table, or in the pack by hand",
        "g.json:15:4: error: $.nodes[2]: expressionNode 'Compute' is not carried over: only "
        "decision tables are\n    hint: rewrite its logic as a decision table, or in the pack "
        "by hand",
        "g.json:21:4: error: $.nodes[3].content.executionMode: executionMode 'loop' is not "
        "carried over",
        "g.json:35:7: error: $.nodes[3].content.outputs[0].field: output field 'x[]' is not a "
        "path of names (a.b.c)"]


def test_unreadable_documents_are_refused_at_their_place() -> None:
    assert rendered(import_jdm('{"nodes": [1,', "bad.json")) == [
        "bad.json:1:14: error: not JSON: Expecting value"]
    assert rendered(import_jdm("[]", "list.json")) == [
        "list.json:1:1: error: $: not a JDM document: no \"nodes\" list\n"
        "    hint: a JDM file is {\"nodes\": [...], \"edges\": [...]}"]
    assert rendered(import_dmn("<definitions>\n  <decision>\n</definitions>", "bad.dmn")) == [
        "bad.dmn:3:3: error: not well-formed XML: mismatched tag"]
    assert rendered(import_dmn('<definitions xmlns="urn:other"/>', "other.dmn")) == [
        "other.dmn:1:1: error: not a DMN 1.1-1.5 document: the root is 'definitions' in "
        "namespace 'urn:other'\n    hint: the root must be <definitions> of a DMN namespace"]
    assert rendered(import_dmn("x", "dmn.dmn", {"Age": "lines.x"})) == [
        "dmn.dmn:1:1: error: --map Age=lines.x: the path must start with order. or customer. "
        "and name fields (letters, digits, _)",
        "dmn.dmn:1:1: error: not well-formed XML: syntax error"]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
""" + "".join(f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n'
              for i in range(1, 10)) + """]>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/">&lol9;</definitions>
"""


def test_a_billion_laughs_document_is_refused_before_any_expansion() -> None:
    # refused at the declaration, before a single entity is declared: expanded, &lol9; would
    # be 10^9 'lol's (3 GB); expat's own amplification cap would stop it later, and dearer
    result = import_dmn(BILLION_LAUGHS, "lolz.dmn")
    assert result.pack is None
    assert rendered(result) == [
        "lolz.dmn:2:16: error: a document type declaration (<!DOCTYPE ...>) is refused: DMN "
        "needs none, and its entities could expand without bound"]

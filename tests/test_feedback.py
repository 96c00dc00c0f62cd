"""Feedback: hidden tests never reach a student, and nothing a student wrote runs for a TA."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from autograder.grading.pipeline.feedback import (
    REDACTED,
    RedactHiddenTests,
    SafeFeedbackExporter,
    hidden_lines,
    redact_notebook,
    sanitize_feedback_file,
)

HIDDEN_TEST = """# Test 1.2, hidden part (1 point)
### BEGIN HIDDEN TESTS
check_parameter_count(build_lenet5(), 61706)
assert secret_threshold_value == 0.125
### END HIDDEN TESTS
"""


def _autograded():
    test = new_code_cell(HIDDEN_TEST, metadata={"nbgrader": {"grade": True, "grade_id": "t"}})
    test.outputs = [
        new_output(
            "error",
            ename="AssertionError",
            evalue="44,426 trainable parameters, expected 61,706",
            traceback=["----> 3 check_parameter_count(build_lenet5(), 61706)", "AssertionError"],
        )
    ]
    spy = new_code_cell("print(In)")
    spy.outputs = [
        new_output("stream", name="stdout", text="CELL: " + HIDDEN_TEST),
        new_output(
            "execute_result", data={"text/plain": "'assert secret_threshold_value == 0.125'"}
        ),
    ]
    return new_notebook(cells=[test, spy])


def test_hidden_lines_are_the_long_lines_inside_the_hidden_region():
    assert hidden_lines(_autograded().cells) == {
        "check_parameter_count(build_lenet5(), 61706)",
        "assert secret_threshold_value == 0.125",
    }


def test_the_hidden_region_is_replaced_by_a_note_and_the_visible_part_stays():
    notebook = _autograded()
    redact_notebook(notebook)
    source = notebook.cells[0].source
    assert source.startswith("# Test 1.2, hidden part (1 point)\n")
    assert "(hidden tests ran here; they are not shown)" in source
    assert "61706" not in source and "BEGIN HIDDEN" not in source


def test_a_failing_hidden_test_shows_only_its_message():
    notebook = _autograded()
    redact_notebook(notebook)
    (error,) = notebook.cells[0].outputs
    assert error.traceback == ["AssertionError: 44,426 trainable parameters, expected 61,706"]


def test_copies_printed_by_the_student_are_removed_from_every_output():
    notebook = _autograded()
    redact_notebook(notebook)
    printed = notebook.cells[1].outputs[0].text
    assert "secret_threshold_value" not in printed and "check_parameter_count" not in printed
    assert printed.count(REDACTED) == 2
    assert "### BEGIN HIDDEN TESTS" in printed  # the marker line alone gives nothing away
    shown = notebook.cells[1].outputs[1].data["text/plain"]
    assert shown == REDACTED


def test_a_notebook_without_hidden_tests_is_left_alone():
    notebook = new_notebook(cells=[new_code_cell("print(1)")])
    notebook.cells[0].outputs = [new_output("stream", name="stdout", text="1\n")]
    before = notebook.copy()
    redact_notebook(notebook)
    assert notebook == before


# ---- The feedback page: nothing a student wrote runs when a TA opens it ----

# A 1×1 PNG, as matplotlib or an attachment would store it.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42"
    "mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
# An answer cell as GetGrades leaves it for the template (score included).
ANSWER = {
    "nbgrader": {"solution": True, "grade": True, "grade_id": "answer", "points": 1, "score": 1}
}

MARKDOWN_PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "upper-case script": "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "img onerror": "<img src=x onerror=alert(1)>",
    "upper-case onerror": "<IMG SRC=x ONERROR=alert(1)>",
    "javascript link": '<a href="JaVaScRiPt:alert(1)">marks</a>',
    "entity-encoded javascript link": '<a href="&#106;avascript:alert(1)">marks</a>',
    "tab inside javascript link": '<a href="java&#x09;script:alert(1)">marks</a>',
    "markdown javascript link": "[marks](javascript:alert(1))",
    "markdown javascript image": "![chart](javascript:alert(1))",
    "vbscript link": '<a href="vbscript:msgbox(1)">marks</a>',
    "data html link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "data html image": '<img src="data:text/html,<script>alert(1)</script>">',
    "svg script": "<svg><script>alert(1)</script></svg>",
    "svg onload": "<svg onload=alert(1)>",
    "svg javascript link": '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "svg foreignObject": "<svg><foreignObject><iframe src=javascript:alert(1)></foreignObject>",
    "iframe srcdoc": '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    "object": '<object data="javascript:alert(1)"></object>',
    "embed": '<embed src="javascript:alert(1)">',
    "frameset": "<frameset><frame src=javascript:alert(1)></frameset>",
    "form": '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">go',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base": '<base href="javascript:alert(1)//">',
    "mutation XSS through math": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "mutation XSS, noscript": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "details ontoggle": "<details open ontoggle=alert(1)><summary>more</summary></details>",
    "style expression": '<div style="width: expression(alert(1))">x</div>',
    "style url javascript": '<div style="background-image: url(javascript:alert(1))">x</div>',
    "style element": "<style>@import 'javascript:alert(1)'; body { display: none }</style>",
    "closing the template's markup": "</div></div></div></body><script>alert(1)</script>",
}
SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
# An output's data, and its metadata, by MIME type.
HOSTILE_OUTPUTS = {
    "text/html": (
        {"text/html": "<b>ok</b><script>alert(1)</script><img src=x onerror=alert(2)>"},
        {},
    ),
    "text/html, isolated": (
        {"text/html": "<script>alert(1)</script>"},
        {"text/html": {"isolated": True}},
    ),
    "application/javascript": ({"application/javascript": "alert(1)"}, {}),
    "image/svg+xml": ({"image/svg+xml": SVG}, {}),
    "text/markdown": ({"text/markdown": "[x](javascript:alert(1)) <script>alert(2)</script>"}, {}),
    "text/latex": (
        {"text/latex": r"$\href{javascript:alert(1)}{x}$ </div><script>alert(2)</script>"},
        {},
    ),
    "widget view": ({"application/vnd.jupyter.widget-view+json": {"model_id": "m"}}, {}),
    "image/png, width that is not a number": (
        {"image/png": PNG},
        {"image/png": {"width": "1 onerror=alert(1)"}},
    ),
}
# Saved widget state, so that nbconvert would render the widget view (and the state itself).
WIDGETS = {
    "application/vnd.jupyter.widget-state+json": {
        "state": {"m": {"model_name": "</script><script>alert(1)//"}},
        "version_major": 2,
        "version_minor": 0,
    }
}
HOSTILE_ATTACHMENT = {"evil.png": {"text/html": "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="}}

# What is never on a feedback page, wherever it sits.
FORBIDDEN_TAGS = {
    *("iframe", "frame", "frameset", "object", "embed", "applet", "form", "button", "input"),
    *("textarea", "select", "base", "link", "svg", "math", "noscript", "template", "foreignobject"),
}
SAFE_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,")
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}


@dataclass
class Element:
    tag: str
    attributes: list[tuple[str, str]]
    in_head: bool
    text: str = ""

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.attributes if key == name), None)


class ParsedPage(HTMLParser):
    """Every element of a page, with its attributes and text, as Python's parser reads it."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self._in_head = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self._in_head = self._in_head or tag == "head"
        element = Element(tag, [(name, value or "") for name, value in attrs], self._in_head)
        self.elements.append(element)
        if tag not in VOID_TAGS:
            self._open.append(element)

    def handle_endtag(self, tag):
        self._in_head = self._in_head and tag != "head"
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                break

    def handle_data(self, data):
        for element in self._open:
            element.text += data

    def all(self, tag: str) -> list[Element]:
        return [element for element in self.elements if element.tag == tag]

    @property
    def scripts(self) -> set[tuple]:
        return {(tuple(script.attributes), script.text.strip()) for script in self.all("script")}

    @property
    def body_text(self) -> str:
        return "".join(body.text for body in self.all("body"))


def executable_content(page: str, template_scripts: set[tuple]) -> list[str]:
    """Everything on ``page`` that could run code or navigate when a TA opens it."""
    found = []
    parsed = ParsedPage(page)
    found += [f"script {script}" for script in parsed.scripts - template_scripts]
    for element in parsed.elements:
        tag = element.tag
        if tag in FORBIDDEN_TAGS:
            found.append(f"<{tag}>")
        if tag == "style" and not element.in_head:
            found.append("<style> in the body")
        if tag == "meta" and not {"charset", "name"} & {name for name, _ in element.attributes}:
            found.append(f"<meta {element.attributes}>")
        for name, value in element.attributes:
            url = re.sub(r"[\x00-\x20]", "", value).lower()
            if name.startswith("on") or name in ("srcdoc", "formaction", "xlink:href"):
                found.append(f"<{tag} {name}=...>")
            if url.startswith(("javascript:", "vbscript:")):
                found.append(f"<{tag} {name}={value!r}>")
            if url.startswith("data:") and not (name == "src" and SAFE_DATA_IMAGE.match(url)):
                found.append(f"<{tag} {name}={value[:40]!r}>")
            if name == "style" and re.search(r"expression\s*\(|url\s*\(", url):
                found.append(f"<{tag} style={value!r}>")
    return found


@pytest.fixture(scope="module")
def feedback_app(tmp_path_factory):
    """nbgrader's GenerateFeedback, configured as ``coursekit grade`` configures it."""
    config = Config()
    config.GenerateFeedback.exporter_class = (
        "autograder.grading.pipeline.feedback.SafeFeedbackExporter"
    )
    root = tmp_path_factory.mktemp("course")
    return GenerateFeedback(coursedir=CourseDirectory(root=str(root)), config=config)


@pytest.fixture(scope="module")
def exporter(feedback_app):
    """The exporter nbgrader builds in ``GenerateFeedback.start``, with grading's preprocessors."""
    exporter = feedback_app.exporter_class(parent=feedback_app, config=feedback_app.config)
    for preprocessor in (CSSHTMLHeaderPreprocessor, RedactHiddenTests):
        exporter.register_preprocessor(preprocessor, enabled=True)
    return exporter


@pytest.fixture(scope="module")
def template_scripts(feedback_app):
    """The scripts nbgrader's feedback template writes itself, read from an unsanitised page."""
    plain = HTMLExporter(parent=feedback_app, config=feedback_app.config)
    page, _ = plain.from_notebook_node(new_notebook(), _resources())
    return ParsedPage(page).scripts


def _resources(notebook: str = "cnn") -> dict:
    """What nbgrader's GetGrades adds for the template (it needs a gradebook)."""
    return {"nbgrader": {"notebook": notebook, "score": 3, "max_score": 5, "late_penalty": 0}}


def _render(exporter, *cells, notebook: str = "cnn", metadata: dict | None = None) -> str:
    notebook_node = new_notebook(cells=list(cells), metadata=metadata or {})
    page, _ = exporter.from_notebook_node(notebook_node, _resources(notebook))
    return page


def _code_cell_with(data: dict, metadata: dict | None = None):
    cell = new_code_cell("show()", metadata=ANSWER)
    cell.outputs = [
        new_output("display_data", data={**data, "text/plain": "x"}, metadata=metadata or {})
    ]
    return cell


def test_the_contents_name_each_test_by_its_title_not_test_cell(exporter):
    test = new_code_cell(
        "# Test 1.2a (2 points): the total number of trainable parameters <b>\nassert True",
        metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t12a", "points": 2}},
    )
    test.metadata["nbgrader"]["score"] = 2
    page = _render(exporter, test)
    title = "Test 1.2a (2 points): the total number of trainable parameters &lt;b&gt;"
    assert re.search(rf'<a href="#t12a"[^>]*>{re.escape(title)}</a>', page)
    assert ">Test cell<" not in page


def test_the_exporter_is_the_one_generate_feedback_uses_with_nbgraders_template(exporter):
    assert isinstance(exporter, SafeFeedbackExporter)
    assert exporter.template_name == "feedback"
    assert exporter.sanitize_html


def test_the_templates_own_scripts_are_mathjax_with_its_safe_extension(exporter, template_scripts):
    sources = {dict(attributes).get("src") for attributes, _ in template_scripts}
    assert any(source and "mathjax" in source and "Safe" in source for source in sources)
    assert {dict(attributes).get("type") for attributes, _ in template_scripts} >= {
        "text/x-mathjax-config"
    }
    assert {(tuple(s.attributes), s.text.strip()) for s in exporter.template_scripts} == (
        template_scripts
    )


@pytest.mark.parametrize("payload", MARKDOWN_PAYLOADS.values(), ids=MARKDOWN_PAYLOADS.keys())
def test_a_markdown_answer_runs_nothing(exporter, template_scripts, payload):
    cells = [new_markdown_cell(f"My answer: {payload} done.", metadata=ANSWER)]
    cells.append(new_markdown_cell(f"Not an answer cell: {payload}"))
    page = _render(exporter, *cells)
    assert executable_content(page, template_scripts) == []
    assert ParsedPage(page).scripts == template_scripts  # MathJax still loads


@pytest.mark.parametrize("output", HOSTILE_OUTPUTS.values(), ids=HOSTILE_OUTPUTS.keys())
def test_no_output_runs_anything_whatever_its_type(exporter, template_scripts, output):
    page = _render(exporter, _code_cell_with(*output), metadata={"widgets": WIDGETS})
    assert executable_content(page, template_scripts) == []


def test_an_svg_output_is_shown_only_as_an_image_where_browsers_run_no_script(exporter):
    parsed = ParsedPage(_render(exporter, _code_cell_with({"image/svg+xml": SVG})))
    (image,) = [img for img in parsed.all("img") if "svg" in img.get("src")]
    assert image.get("src").startswith("data:image/svg+xml;base64,")
    assert not parsed.all("svg")


def test_an_attachment_that_is_not_an_image_is_not_linked(exporter, template_scripts):
    cell = new_markdown_cell("![x](attachment:evil.png)", attachments=HOSTILE_ATTACHMENT)
    page = _render(exporter, cell)
    assert executable_content(page, template_scripts) == []
    assert not any(
        (img.get("src") or "").startswith("data:") for img in ParsedPage(page).all("img")
    )


def test_a_hostile_notebook_name_cannot_add_a_script(exporter, template_scripts):
    page = _render(exporter, notebook="cnn</title><script>alert(1)</script>")
    assert executable_content(page, template_scripts) == []


def test_a_page_written_before_sanitising_can_be_sanitised_in_place(
    feedback_app, template_scripts, tmp_path
):
    payloads = [new_markdown_cell(payload) for payload in MARKDOWN_PAYLOADS.values()]
    outputs = [_code_cell_with(*output) for output in HOSTILE_OUTPUTS.values()]
    plain = HTMLExporter(parent=feedback_app, config=feedback_app.config)
    page, _ = plain.from_notebook_node(new_notebook(cells=payloads + outputs), _resources())
    path = tmp_path / "cnn.html"
    path.write_text(page)
    assert executable_content(page, template_scripts) != []

    assert sanitize_feedback_file(path) is True
    assert executable_content(path.read_text(), template_scripts) == []
    assert ParsedPage(path.read_text()).scripts == template_scripts
    assert sanitize_feedback_file(path) is False  # already safe: left as it is


# ---- ... and everything a TA needs still renders ----

MATH = r"$\mathcal{L} = -\sum_i y_i \log p_i$"
DISPLAY_MATH = r"$$\frac{\partial L}{\partial w} < 0$$"


@pytest.fixture(scope="module")
def benign_page(exporter):
    import pandas as pd

    table = pd.DataFrame({"layer": ["conv1", "dense"], "parameters": [156, 850]})
    code = new_code_cell("import numpy as np\ndef f(x):\n    return x", metadata=ANSWER)
    code.outputs = [
        new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        new_output(
            "execute_result",
            data={"text/html": table._repr_html_(), "text/plain": str(table)},
            execution_count=1,
        ),
    ]
    return _render(
        exporter,
        new_markdown_cell(f"The loss is {MATH}, and\n\n{DISPLAY_MATH}", metadata=ANSWER),
        new_markdown_cell("| optimiser | accuracy |\n|---|---|\n| Adam | 0.91 |"),
        new_markdown_cell(
            "![filters](attachment:filters.png)", attachments={"filters.png": {"image/png": PNG}}
        ),
        code,
    )


def test_math_reaches_mathjax_as_written(benign_page, template_scripts):
    parsed = ParsedPage(benign_page)
    assert MATH in parsed.body_text and DISPLAY_MATH in parsed.body_text
    assert parsed.scripts == template_scripts


def test_png_outputs_and_image_attachments_keep_their_data(benign_page):
    sources = [img.get("src") for img in ParsedPage(benign_page).all("img")]
    assert sources.count(f"data:image/png;base64,{PNG}") == 2


def test_a_pandas_table_and_a_markdown_table_keep_their_cells(benign_page):
    cells = [
        cell.text.strip() for cell in ParsedPage(benign_page).elements if cell.tag in ("td", "th")
    ]
    for expected in ("layer", "parameters", "conv1", "156", "dense", "850"):
        assert expected in cells
    for expected in ("optimiser", "accuracy", "Adam", "0.91"):
        assert expected in cells


def test_code_keeps_its_highlighting_and_the_page_its_css(benign_page):
    parsed = ParsedPage(benign_page)
    keywords = {span.text for span in parsed.all("span") if span.get("class") in ("k", "kn")}
    assert {"import", "def", "return"} <= keywords
    css = "".join(style.text for style in parsed.all("style") if style.in_head)
    assert ".highlight .k" in css and ".panel-heading" in css  # pygments and bootstrap


def test_the_score_heading_and_answer_panels_stay(benign_page):
    parsed = ParsedPage(benign_page)
    assert "cnn (Score: 3.0 / 5.0)" in [h4.text for h4 in parsed.all("h4")]
    assert any("Student's answer" in span.text for span in parsed.all("span"))


def test_hidden_tests_stay_out_of_the_rendered_page(exporter, template_scripts):
    cells = _autograded().cells
    cells[0].metadata.nbgrader.update(score=0, points=1)  # as GetGrades leaves it
    page = _render(exporter, *cells)
    text = ParsedPage(page).body_text
    assert "secret_threshold_value" not in text and "check_parameter_count" not in text
    assert "(hidden tests ran here; they are not shown)" in text
    assert "44,426 trainable parameters, expected 61,706" in text
    assert executable_content(page, template_scripts) == []

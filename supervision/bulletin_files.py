"""The bulletin (通报) as files: an .xlsx (openpyxl) and a .docx (python-docx) laid out as a
county office files a 通报 (GB/T 9704 page: A4, 3.7/3.5/2.8/2.6 cm margins; red header with the
issuing office, document number and a red rule; 方正小标宋 title, 黑体 section headings, 仿宋
body; the ranking table; signature and date; page numbers).

Both read the one ``supervision.bulletins.Bulletin``, so they say what the web page says.
"""

from __future__ import annotations

from io import BytesIO

from django.utils.translation import gettext as _
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from openpyxl.styles import Alignment, Border, Font, Side

from supervision.bulletins import Bulletin
from tracker.spreadsheets import Column, Spreadsheet

TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
BODY_FONT = "仿宋_GB2312"
RED = "C00000"


def sections(bulletin: Bulletin) -> dict[str, str]:
    """The numbered section headings, shared by the page and both files."""
    return {
        "ranking": _("1. The ranking"),
        "marks": _("2. Units at the top and at the bottom"),
        "red": _("3. Red-light projects"),
        "issues": _("4. Overdue and escalated issues"),
        "commentary": _("5. Commentary"),
    }


def ranking_header(bulletin: Bulletin) -> list[str]:
    return [
        _("rank"),
        _("unit"),
        _("score"),
        _("movement"),
        *[c.label for c in bulletin.columns],
        _("remarks"),
    ]


def units_line(rows, label: str) -> str:
    names = "、".join(r.unit for r in rows) or _("none")
    return label % {"units": names}


def top_line(bulletin: Bulletin) -> str:
    return units_line(bulletin.top, _("At the top: %(units)s."))


def bottom_line(bulletin: Bulletin) -> str:
    return units_line(bulletin.bottom, _("At the bottom: %(units)s."))


def red_header() -> list[str]:
    return [_("No."), _("project"), _("responsible unit"), _("why red")]


def issue_header() -> list[str]:
    return [
        _("No."),
        _("ledger number"),
        _("problem"),
        _("responsible unit"),
        _("rectification deadline"),
        _("days overdue"),
        _("escalation"),
    ]


def issue_row(index: int, issue) -> list:
    return [
        index,
        issue.number,
        issue.title + (f"（{issue.project}）" if issue.project else ""),
        issue.unit,
        issue.deadline,
        issue.days_overdue or None,
        issue.level_label,
    ]


# ---------------------------------------------------------------------------------------------
# .xlsx
# ---------------------------------------------------------------------------------------------


def build_workbook(bulletin: Bulletin) -> Spreadsheet:
    """One printable sheet in the order of the document."""
    book = Spreadsheet()
    sheet = book.sheet(_("bulletin"))
    width = max(len(ranking_header(bulletin)), len(issue_header()))
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    heads = sections(bulletin)

    def line(text: str, *, font: Font | None = None, align: Alignment | None = None) -> None:
        row = sheet.heading(
            text, span=width, font=font or Font(name=BODY_FONT, size=12), alignment=align or wrap
        )
        if len(text) > width * 8:
            sheet.worksheet.row_dimensions[row].height = 16 * (len(text) // (width * 8) + 1)

    def table(header: list[str], rows: list[list], number_formats: dict[int, str]) -> None:
        sheet.header(
            [
                Column(text, number_format=number_formats.get(index))
                for index, text in enumerate(header, start=1)
            ],
            font=Font(name=HEADING_FONT, bold=True),
            alignment=centre,
            border=box,
        )
        for values in rows:
            sheet.row(values, font=Font(name=BODY_FONT), alignment=wrap, border=box)

    if bulletin.is_draft:
        line(_("DRAFT: a preview, not published"), font=Font(bold=True, color=RED, size=14))
    line(bulletin.office, font=Font(name=TITLE_FONT, size=20, bold=True, color=RED), align=centre)
    line(bulletin.number, align=centre)
    line(bulletin.title, font=Font(name=TITLE_FONT, size=16, bold=True), align=centre)
    line(_("To all units concerned:"))
    line(bulletin.opening)

    line(heads["ranking"], font=Font(name=HEADING_FONT, size=12, bold=True))
    line(bulletin.summary)
    formats = {1: "0", 3: "0.00"}
    for index, column in enumerate(bulletin.columns, start=5):
        formats[index] = f'0.00"{column.measure}"' if column.measure else "0.##"
    table(
        ranking_header(bulletin),
        [[r.rank, r.unit, r.score, r.movement_text, *r.raw, r.mark] for r in bulletin.rows],
        formats,
    )

    line(heads["marks"], font=Font(name=HEADING_FONT, size=12, bold=True))
    line(top_line(bulletin))
    line(bottom_line(bulletin))

    line(heads["red"], font=Font(name=HEADING_FONT, size=12, bold=True))
    if bulletin.red_projects:
        table(
            red_header(),
            [
                [n, p.name, p.unit, "；".join(p.reasons)]
                for n, p in enumerate(bulletin.red_projects, start=1)
            ],
            {1: "0"},
        )
    else:
        line(_("No project had a red light."))

    line(heads["issues"], font=Font(name=HEADING_FONT, size=12, bold=True))
    if bulletin.issues:
        table(
            issue_header(),
            [issue_row(n, i) for n, i in enumerate(bulletin.issues, start=1)],
            {1: "0", 5: "yyyy-mm-dd", 6: "0"},
        )
    else:
        line(_("No overdue or escalated issue."))

    line(heads["commentary"], font=Font(name=HEADING_FONT, size=12, bold=True))
    for paragraph in bulletin.commentary or [_("None.")]:
        line(paragraph)

    sheet.blank()
    right = Alignment(horizontal="right")
    line(bulletin.office, align=right)
    line(bulletin.date_text, align=right)

    sheet.widths([8, 18, 10, 12])
    sheet.widths([14] * (width - 4), first=5)
    worksheet = sheet.worksheet
    worksheet.page_setup.paperSize = worksheet.PAPERSIZE_A4
    worksheet.page_setup.orientation = "landscape" if len(bulletin.columns) > 4 else "portrait"
    worksheet.page_setup.fitToWidth = 1
    worksheet.page_setup.fitToHeight = 0
    worksheet.sheet_properties.pageSetUpPr.fitToPage = True
    return book


def workbook_bytes(bulletin: Bulletin) -> bytes:
    return build_workbook(bulletin).content()


# ---------------------------------------------------------------------------------------------
# .docx
# ---------------------------------------------------------------------------------------------


def _font(run, name: str, size: float, *, bold: bool = False, color: str | None = None) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    if color:
        run.font.color.rgb = RGBColor.from_string(color)
    # Word takes Chinese text's font from w:eastAsia, which font.name does not set.
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _paragraph(
    document,
    text: str,
    *,
    font: str = BODY_FONT,
    size: float = 16,
    bold: bool = False,
    color: str | None = None,
    align=None,
    indent: bool = False,
):
    paragraph = document.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(size * 2)
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.line_spacing = Pt(28)
    _font(paragraph.add_run(text), font, size, bold=bold, color=color)
    return paragraph


def _red_rule(paragraph) -> None:
    """The red line under the header (版头中的分隔线)."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "12"), ("w:space", "1"), ("w:color", RED)):
        bottom.set(qn(key), value)
    borders.append(bottom)
    # pPr's children have a fixed order in the schema: the border goes before spacing and jc.
    paragraph._p.get_or_add_pPr().insert_element_before(
        borders, "w:shd", "w:tabs", "w:spacing", "w:ind", "w:jc", "w:rPr"
    )


def _page_numbers(section) -> None:
    """— 1 — centred in the footer."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(paragraph.add_run("— "), BODY_FONT, 14)
    run = paragraph.add_run()
    _font(run, BODY_FONT, 14)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)
    _font(paragraph.add_run(" —"), BODY_FONT, 14)


def _table(document, header: list[str], rows: list[list[str]], *, size: float = 10.5) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        _font(cell.paragraphs[0].add_run(text), HEADING_FONT, size)
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    # The header row repeats on every page the table runs over.
    properties = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    properties.append(repeat)
    for values in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(text), BODY_FONT, size)


def build_document(bulletin: Bulletin):
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = document.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.font.size = Pt(16)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    document.core_properties.title = bulletin.title
    document.core_properties.author = bulletin.office
    centre = WD_ALIGN_PARAGRAPH.CENTER
    heads = sections(bulletin)

    if bulletin.is_draft:
        _paragraph(document, _("DRAFT: a preview, not published"), font=HEADING_FONT, color=RED)
    _paragraph(document, bulletin.office, font=TITLE_FONT, size=26, color=RED, align=centre)
    _red_rule(_paragraph(document, bulletin.number, align=centre))
    _paragraph(document, "")
    _paragraph(document, bulletin.title, font=TITLE_FONT, size=22, align=centre)
    _paragraph(document, "")
    _paragraph(document, _("To all units concerned:"))
    _paragraph(document, bulletin.opening, indent=True)

    _paragraph(document, heads["ranking"], font=HEADING_FONT, indent=True)
    _paragraph(document, bulletin.summary, indent=True)
    _table(
        document,
        ranking_header(bulletin),
        [
            [r.rank_text, r.unit, r.score_text, r.movement_text, *r.values, r.mark]
            for r in bulletin.rows
        ],
        size=9 if len(bulletin.columns) > 4 else 10.5,
    )

    _paragraph(document, heads["marks"], font=HEADING_FONT, indent=True)
    _paragraph(document, top_line(bulletin), indent=True)
    _paragraph(document, bottom_line(bulletin), indent=True)

    _paragraph(document, heads["red"], font=HEADING_FONT, indent=True)
    if bulletin.red_projects:
        _table(
            document,
            red_header(),
            [
                [str(n), p.name, p.unit, "；".join(p.reasons)]
                for n, p in enumerate(bulletin.red_projects, start=1)
            ],
        )
    else:
        _paragraph(document, _("No project had a red light."), indent=True)

    _paragraph(document, heads["issues"], font=HEADING_FONT, indent=True)
    if bulletin.issues:
        _table(
            document,
            issue_header(),
            [
                ["" if value is None else str(value) for value in issue_row(n, i)]
                for n, i in enumerate(bulletin.issues, start=1)
            ],
        )
    else:
        _paragraph(document, _("No overdue or escalated issue."), indent=True)

    _paragraph(document, heads["commentary"], font=HEADING_FONT, indent=True)
    for paragraph in bulletin.commentary or [_("None.")]:
        _paragraph(document, paragraph, indent=True)

    _paragraph(document, "")
    right = WD_ALIGN_PARAGRAPH.RIGHT
    _paragraph(document, bulletin.office, align=right)
    _paragraph(document, bulletin.date_text, align=right)
    _page_numbers(section)
    return document


def document_bytes(bulletin: Bulletin) -> bytes:
    buffer = BytesIO()
    build_document(bulletin).save(buffer)
    return buffer.getvalue()

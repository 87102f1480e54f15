"""The bulletin (通报) of a ranking as a page (printable on A4), .xlsx and .docx; the
supervisor's commentary; a unit's rank history in one scheme.

Whoever may see a ranking may see its bulletin (``views._snapshot_for``); a draft's bulletin is
a preview that only its supervisors see.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from projects.views.edit import add_service_errors
from supervision import bulletin_files, rankings, selectors
from supervision.bulletins import bulletin_for
from supervision.forms_bulletins import CommentaryForm
from supervision.ranking_history import rank_history
from supervision.views import _snapshot_for, ranking_detail_page
from tracker import spreadsheets

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@login_required
def ranking_bulletin(request: HttpRequest, pk: int) -> HttpResponse:
    bulletin = bulletin_for(_snapshot_for(request, pk))
    return render(
        request,
        "supervision/ranking_bulletin.html",
        {
            "bulletin": bulletin,
            "sections": bulletin_files.sections(bulletin),
            "ranking_header": bulletin_files.ranking_header(bulletin),
            "red_header": bulletin_files.red_header(),
            "issue_header": bulletin_files.issue_header(),
            "top_line": bulletin_files.top_line(bulletin),
            "bottom_line": bulletin_files.bottom_line(bulletin),
        },
    )


def _download(bulletin, content: bytes, extension: str, content_type: str) -> HttpResponse:
    name = bulletin.title + (_(" (draft)") if bulletin.is_draft else "")
    return spreadsheets.attachment(content, f"{name}.{extension}", content_type)


@login_required
def ranking_bulletin_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    bulletin = bulletin_for(_snapshot_for(request, pk))
    return _download(bulletin, bulletin_files.workbook_bytes(bulletin), "xlsx", spreadsheets.XLSX)


@login_required
def ranking_bulletin_docx(request: HttpRequest, pk: int) -> HttpResponse:
    bulletin = bulletin_for(_snapshot_for(request, pk))
    return _download(bulletin, bulletin_files.document_bytes(bulletin), "docx", DOCX)


@login_required
@require_POST
def ranking_commentary(request: HttpRequest, pk: int) -> HttpResponse:
    snapshot = _snapshot_for(request, pk)
    form = CommentaryForm(request.POST)
    if form.is_valid():
        try:
            rankings.ranking_set_commentary(
                snapshot=snapshot, commentary=form.cleaned_data["commentary"], actor=request.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The commentary has been saved."))
            return redirect("ranking_detail", pk=snapshot.pk)
    return ranking_detail_page(request, snapshot, commentary_form=form, status=400)


@login_required
def ranking_unit_history(request: HttpRequest, scheme_pk: int, unit_pk: int) -> HttpResponse:
    scheme = (
        selectors.visible_schemes(request.user)
        .select_related("parent_unit")
        .filter(pk=scheme_pk)
        .first()
    )
    if scheme is None:
        raise Http404(_("No such ranking in your scope."))
    history = rank_history(scheme.pk, unit_id=unit_pk)
    if not history.units:
        raise Http404(_("This unit has no published rank in this scheme."))
    unit = history.units[0]
    rows = [
        (label, point)
        for (_key, label), point in zip(history.periods, unit.points, strict=True)
        if point is not None
    ]
    return render(
        request,
        "supervision/ranking_unit_history.html",
        {
            "scheme": scheme,
            "unit": unit,
            "rows": list(reversed(rows)),
            "chart": history.chart_data(),
        },
    )

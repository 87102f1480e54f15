"""/ledgers/ (台账导入导出): templates to download, imports with their preview, every export.

An upload becomes an ``ImportBatch``; reading it and, once confirmed, writing it are Celery tasks
(eager in the demo), and the batch page polls ``status`` for its progress bar (htmx).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from projects import ledger_export, ledger_import, ledger_registry, selectors
from projects.models import ImportKind, ImportStatus, RowStatus, Unit, UnitKind
from tracker import periods

ROWS_SHOWN = {"all", *RowStatus.values}


def _year_choices() -> list[tuple[int, str]]:
    year = timezone.localdate().year
    return [(y, _("%(year)d") % {"year": y}) for y in (year + 1, year, year - 1, year - 2)]


class ImportForm(forms.Form):
    label_suffix = ""
    unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(), label=gettext_lazy("unit"), empty_label=None
    )
    file = forms.FileField(label=gettext_lazy("Excel file (.xlsx)"))

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = (
            ledger_import.importable_units(user).exclude(kind=UnitKind.VILLAGE).order_by("path")
        )
        self.fields["file"].widget.attrs["accept"] = ".xlsx"


class ProjectImportForm(ImportForm):
    year = forms.TypedChoiceField(
        label=gettext_lazy("plan year"),
        coerce=int,
        help_text=gettext_lazy("The year of the annual plan column, unless its header names one."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = _year_choices()
        self.fields["year"].initial = timezone.localdate().year


class ProgressImportForm(ImportForm):
    period = forms.ChoiceField(label=gettext_lazy("period"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [(p.key, p.label) for p in ledger_import.recent_periods()]


def _import_forms(request: HttpRequest, bound: str | None = None):
    data = request.POST if request.method == "POST" else None
    files = request.FILES if request.method == "POST" else None
    return (
        ProjectImportForm(
            data if bound == "projects" else None,
            files if bound == "projects" else None,
            user=request.user,
            prefix="projects",
        ),
        ProgressImportForm(
            data if bound == "progress" else None,
            files if bound == "progress" else None,
            user=request.user,
            prefix="progress",
        ),
    )


def _export_entries(request: HttpRequest) -> list[dict]:
    entries = []
    for export in ledger_registry.exports(request):
        entries.append(
            {
                "export": export,
                "params": [
                    {"name": p.name, "label": p.label, "options": p.options(request)}
                    for p in export.params
                ],
            }
        )
    return entries


@login_required
def ledger_index(request: HttpRequest, *, bound: str | None = None, forms_=None) -> HttpResponse:
    project_form, progress_form = forms_ or _import_forms(request, bound)
    can_import = project_form.fields["unit"].queryset.exists()
    context = {
        "project_form": project_form,
        "progress_form": progress_form,
        "can_import": can_import,
        "exports": _export_entries(request),
        "batches": ledger_import.visible_batches(request.user).defer("content", "rows")[:10],
        "max_mb": ledger_import.lf.max_bytes() // (1024 * 1024),
        "max_rows": ledger_import.lf.max_rows(),
    }
    return render(request, "projects/ledgers.html", context, status=400 if bound else 200)


@login_required
def ledger_template(request: HttpRequest) -> HttpResponse:
    """The blank project ledger, with the allowed values and drop-down lists."""
    year = _int(request.GET.get("year")) or timezone.localdate().year
    title = _("%(year)d key project ledger") % {"year": year}
    book = ledger_export.project_ledger_workbook(
        None, year=year, title=title, values=ledger_export.allowed_values()
    )
    name = _("project ledger template")
    return book.response(f"{name}-{year}.xlsx")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
@require_POST
def ledger_upload(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in ImportKind.values:
        raise Http404
    forms_ = _import_forms(request, kind)
    form = forms_[0] if kind == ImportKind.PROJECTS else forms_[1]
    if not form.is_valid():
        return ledger_index(request, bound=kind, forms_=forms_)
    upload = form.cleaned_data["file"]
    limit = ledger_import.lf.max_bytes()
    if upload.size > limit:
        # Not read into memory at all.
        form.add_error(
            "file",
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": f"{upload.size / 1048576:.1f}", "limit": f"{limit / 1048576:.1f}"},
        )
        return ledger_index(request, bound=kind, forms_=forms_)
    batch = ledger_import.start(
        actor=request.user,
        unit=form.cleaned_data["unit"],
        kind=kind,
        filename=upload.name,
        data=upload.read(),
        year=form.cleaned_data.get("year"),
        period_key=form.cleaned_data.get("period", ""),
    )
    ledger_import.dispatch_prepare(batch)
    return redirect("ledger_import_detail", pk=batch.pk)


def _batch_for(request: HttpRequest, pk: int):
    batch = ledger_import.visible_batches(request.user).filter(pk=pk).first()
    if batch is None:
        raise Http404(_("No such import."))
    return batch


@login_required
def ledger_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    show = request.GET.get("show", "all")
    show = show if show in ROWS_SHOWN else "all"
    rows = batch.rows if show == "all" else [r for r in batch.rows if r["status"] == show]
    skipped = set(batch.skipped_rows)
    for row in rows:
        row["skipped"] = row["row"] in skipped
    context = {
        "batch": batch,
        "rows": rows,
        "show": show,
        "filters": [("all", _("all rows"), batch.counts.get("total", 0))]
        + [(s.value, s.label, batch.counts.get(s.value, 0)) for s in RowStatus],
        "progress": ledger_import.progress(batch),
        "running": batch.status in (ImportStatus.PARSING, ImportStatus.COMMITTING),
        "writes": batch.counts.get("new", 0) + batch.counts.get("changed", 0),
        "period": periods.parse(batch.period_key) if batch.period_key else None,
        "is_owner": batch.created_by_id == request.user.pk,
        "drafts": ledger_import.imported_drafts(batch).count(),
    }
    return render(request, "projects/ledger_import.html", context)


@login_required
def ledger_import_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar (polled by htmx); once the step is over the page reloads itself."""
    batch = _batch_for(request, pk)
    running = batch.status in (ImportStatus.PARSING, ImportStatus.COMMITTING)
    response = render(
        request,
        "projects/_ledger_progress.html",
        {"batch": batch, "progress": ledger_import.progress(batch), "running": running},
    )
    if not running and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def ledger_import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    skipped = {_int(v) for v in request.POST.getlist("skip")} - {None}
    try:
        ledger_import.confirm(
            batch,
            actor=request.user,
            skipped=skipped,
            skip_errors=request.POST.get("skip_errors") == "1",
        )
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
        return redirect("ledger_import_detail", pk=batch.pk)
    batch.refresh_from_db()
    ledger_import.dispatch_commit(batch)
    return redirect("ledger_import_detail", pk=batch.pk)


@login_required
@require_POST
def ledger_import_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit the drafts a progress import wrote, in one go (all or none)."""
    batch = _batch_for(request, pk)
    try:
        count = ledger_import.submit_drafts(batch, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, _("Nothing was submitted: %(reason)s") % {"reason": text})
    else:
        if count:
            messages.success(
                request,
                ngettext(
                    "%(count)d report submitted for review.",
                    "%(count)d reports submitted for review.",
                    count,
                )
                % {"count": count},
            )
        else:
            messages.info(request, _("No draft of this import is left to submit."))
    return redirect("ledger_import_detail", pk=batch.pk)


@login_required
@require_POST
def ledger_import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    try:
        ledger_import.cancel(batch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The import was cancelled; nothing was written."))
    return redirect("ledger_index")


@login_required
@require_POST
def ledger_import_recheck(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    try:
        batch = ledger_import.recheck(batch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        ledger_import.dispatch_prepare(batch)
    return redirect("ledger_import_detail", pk=batch.pk)


@login_required
def ledger_export_view(request: HttpRequest, key: str) -> HttpResponse:
    export = ledger_registry.get(key)
    if export is None or (export.allowed is not None and not export.allowed(request)):
        raise Http404(_("No such ledger."))
    return export.view(request)


# ---------------------------------------------------------------------------------------------
# The projects app's own exports (registered in ProjectsConfig.ready)
# ---------------------------------------------------------------------------------------------


def _unit_options(request: HttpRequest) -> list[tuple[str, str]]:
    units = selectors.visible_units(request.user).active().exclude(kind=UnitKind.VILLAGE)
    options = [(str(u.pk), "　" * u.depth + u.name) for u in units.order_by("path")]
    return [("", _("all projects I can see")), *options]


def _progress_unit_options(request: HttpRequest) -> list[tuple[str, str]]:
    importable = list(
        ledger_import.importable_units(request.user).exclude(kind=UnitKind.VILLAGE).order_by("path")
    )
    if importable:
        return [(str(u.pk), "　" * u.depth + u.name) for u in importable]
    return _unit_options(request)


def _year_options(request: HttpRequest) -> list[tuple[str, str]]:
    year = timezone.localdate().year
    return [(str(y), str(y)) for y in (year, year + 1, year - 1, year - 2)]


def _period_options(request: HttpRequest) -> list[tuple[str, str]]:
    return [(p.key, p.label) for p in ledger_import.recent_periods()]


def _chosen_unit(request: HttpRequest) -> Unit | None:
    pk = _int(request.GET.get("unit"))
    if pk is None:
        return None
    unit = selectors.visible_units(request.user).filter(pk=pk).first()
    if unit is None:
        raise Http404(_("No such unit in your scope."))
    return unit


def project_ledger_export(request: HttpRequest) -> HttpResponse:
    now = timezone.localtime()
    year = _int(request.GET.get("year")) or now.year
    unit = _chosen_unit(request)
    projects = selectors.visible_projects(request.user)
    if unit is not None:
        projects = projects.in_unit_subtree(unit)
    title = _("%(unit)s %(year)d key project ledger") % {
        "unit": unit.name if unit else "",
        "year": year,
    }
    book = ledger_export.project_ledger_workbook(
        ledger_export.project_ledger_rows(projects, year), year=year, title=title.strip()
    )
    return book.response(ledger_export.ledger_filename(_("project ledger"), now))


def progress_ledger_export(request: HttpRequest) -> HttpResponse:
    now = timezone.localtime()
    try:
        period = periods.parse(request.GET.get("period") or "")
    except ValueError:
        period = ledger_import.due_period()
    if period.kind != selectors.report_period_kind():
        raise Http404(_("No such period."))
    unit = _chosen_unit(request)
    projects = selectors.visible_projects(request.user).reporting()
    if unit is not None:
        projects = projects.in_unit_subtree(unit)
    title = _("%(unit)s key project progress, %(period)s") % {
        "unit": unit.name if unit else "",
        "period": period.label,
    }
    book = ledger_export.progress_ledger_workbook(projects, period, title=title.strip())
    name = _("progress ledger")
    return book.response(f"{name}-{period.key}-{now:%Y%m%d-%H%M}.xlsx")


def register_exports() -> None:
    ledger_registry.register(
        ledger_registry.LedgerExport(
            key="projects",
            label=gettext_lazy("Project ledger"),
            description=gettext_lazy(
                "The key projects in the import layout, with the annual plan of the year chosen."
            ),
            view=project_ledger_export,
            params=(
                ledger_registry.ExportParam("unit", gettext_lazy("unit"), _unit_options),
                ledger_registry.ExportParam("year", gettext_lazy("plan year"), _year_options),
            ),
            order=10,
        )
    )
    ledger_registry.register(
        ledger_registry.LedgerExport(
            key="progress",
            label=gettext_lazy("Progress ledger"),
            description=gettext_lazy(
                "Every reporting project with its report of the period; blank rows are the "
                "sheet to fill in and import."
            ),
            view=progress_ledger_export,
            params=(
                ledger_registry.ExportParam("unit", gettext_lazy("unit"), _progress_unit_options),
                ledger_registry.ExportParam("period", gettext_lazy("period"), _period_options),
            ),
            order=20,
        )
    )

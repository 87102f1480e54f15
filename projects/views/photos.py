"""Photos are served through Django so only people who may see the project see its photos."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import cache_control

from projects import selectors
from projects.models import ReportPhoto


@login_required
@cache_control(private=True, max_age=3600)
def report_photo(request: HttpRequest, pk: int, variant: str) -> FileResponse:
    photo = get_object_or_404(ReportPhoto.objects.select_related("report"), pk=pk)
    if not selectors.visible_projects(request.user).filter(pk=photo.report.project_id).exists():
        raise Http404
    file = photo.thumbnail if variant == "thumb" and photo.thumbnail else photo.image
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, filename=file.name.rsplit("/", 1)[-1])

"""Work in progress."""
from django.http import Http404


def project_create(request):
    raise Http404


def project_edit(request, pk):
    raise Http404


def project_stage(request, pk):
    raise Http404


def milestone_complete(request, pk, milestone_pk):
    raise Http404


def milestone_revise(request, pk, milestone_pk):
    raise Http404

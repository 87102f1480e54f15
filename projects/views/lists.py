"""Work in progress."""
from django.http import Http404


def project_list(request):
    raise Http404


def project_list_export(request):
    raise Http404

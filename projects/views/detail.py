"""Work in progress."""
from django.http import Http404


def project_detail(request, pk):
    raise Http404

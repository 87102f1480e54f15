"""Work in progress."""
from django.http import Http404


def report_form(request, pk, period):
    raise Http404


def report_review(request, pk, period):
    raise Http404

"""Views of the staff workspace, one module per page family.

Views stay thin: find the object through ``access``, validate a form, call a service, respond.
"""

from django import template

from tracker.money import format_wan

register = template.Library()
register.filter("wan", format_wan)

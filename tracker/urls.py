from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tracker import views

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include("supervision.api")),
    path("api/v1/", include("supervision.api_notifications")),
    path("api/v1/", include("supervision.issues.api")),
    path("api/v1/", include("supervision.inspections.api")),
    path("api/v1/", include("supervision.dashboard.api")),
    path("api/", include("projects.api.urls")),
    path("health/", views.health, name="health"),
    path("", include("supervision.urls")),
    path("", include("projects.urls")),
]

# The site's own error pages (Chinese, in the layout, JSON under /api/).
handler400 = "projects.views.errors.bad_request"
handler403 = "projects.views.errors.permission_denied"
handler404 = "projects.views.errors.page_not_found"
handler500 = "projects.views.errors.server_error"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from apps.accounts import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("groups/", views.groups, name="groups"),
    path("groups/<str:name>/", views.group, name="group"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]

from django.urls import path

from marketplace.api import views

urlpatterns = [
    path("catalog/services/", views.ServicesApi.as_view(), name="api-catalog-services"),
    path("catalog/services/<slug:slug>/", views.ServiceApi.as_view(), name="api-catalog-service"),
    path("catalog/categories/", views.CategoriesApi.as_view(), name="api-catalog-categories"),
    path("catalog/plans/<int:plan_id>/", views.PlanApi.as_view(), name="api-catalog-plan"),
    path("passes/", views.PassesApi.as_view(), name="api-passes"),
    path("passes/receipts/", views.ReceiptsApi.as_view(), name="api-receipts"),
    path("passes/receipts/<int:purchase_id>/", views.ReceiptApi.as_view(), name="api-receipt"),
    path("passes/<int:pass_id>/", views.PassApi.as_view(), name="api-pass"),
    path("sessions/grants/", views.SessionGrantApi.as_view(), name="api-session-grants"),
    path("orders/", views.OrdersApi.as_view(), name="api-orders"),
    path("orders/<int:order_id>/", views.OrderApi.as_view(), name="api-order"),
    path("orders/<int:order_id>/cancel/", views.OrderCancelApi.as_view(), name="api-order-cancel"),
]

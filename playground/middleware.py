"""Content-Security-Policy on every response (settings.CONTENT_SECURITY_POLICY). Django 5.2 has no CSP of its own;
the page needs nothing inline (the config is a JSON data block, which CSP does not block), so one fixed header
does. A response that already carries the header (set by a view) keeps its own."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response

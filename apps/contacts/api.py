"""HTTP API for contacts, consent, import and privacy exports (see README, Contacts)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, parsers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from apps.contacts import selectors, services
from apps.contacts.models import (
    AttributeDefinition,
    ConsentChannel,
    ConsentEvent,
    ConsentKeyword,
    ConsentSource,
    ConsentStatus,
    Contact,
    IdentityKind,
    Purpose,
)
from apps.contacts.serializers import (
    AttributeDefinitionSerializer,
    ConsentEventSerializer,
    ConsentInputSerializer,
    ConsentKeywordSerializer,
    ConsentsSerializer,
    ConsentStateSerializer,
    ContactInputSerializer,
    ContactSerializer,
    ImportInputSerializer,
    ImportReportSerializer,
    MergeInputSerializer,
)
from apps.contacts.services import contact_csv
from apps.contacts.services.consent import CALLER_SOURCES
from apps.contacts.services.export_erase import consent_ledger_csv, contact_erase, contact_export
from apps.contacts.services.imports import contact_import_file
from apps.contacts.services.merge import contact_merge
from apps.contacts.services.settings import attribute_definition_create, keyword_create
from apps.core import inputs
from apps.core.api.errors import error_body
from apps.core.api.parsers import BoundedJSONParser
from apps.core.api.views import MerchantAPIView, MerchantViewSet
from apps.core.csv_export import csv_response
from apps.core.roles import Capability
from apps.core.tenancy import access_object
from apps.merchants.scopes import ApiScope

CONSENT_FILTER_PATTERN = (  # empty: no filter
    f"^(({'|'.join(ConsentChannel.values)})(:({'|'.join(Purpose.values)}))?:({'|'.join(ConsentStatus.values)}))?$"
)
LIST_FILTERS = [
    OpenApiParameter("phone", str, description="exact phone (normalised to E.164)"),
    OpenApiParameter("email", str, description="exact e-mail (case-insensitive)"),
    OpenApiParameter("whatsapp_id", str, description="WhatsApp wa_id"),
    OpenApiParameter("whatsapp_user_id", str, description="WhatsApp business-scoped user id (exact)"),
    OpenApiParameter("messenger_psid", str, description="Messenger PSID"),
    OpenApiParameter("tag", str, description="contacts carrying this tag"),
    OpenApiParameter(
        "consent",
        str,
        pattern=CONSENT_FILTER_PATTERN,
        description="<channel>:<status> (marketing) or <channel>:<purpose>:<status>",
    ),
    OpenApiParameter("channel", str, enum=["", *IdentityKind.values], description="with an identity of this kind"),
    OpenApiParameter("q", str, description="phone or e-mail (exact) or part of the name"),
]


class CSVTextParser(parsers.BaseParser):
    """A raw `text/csv` body for the import endpoint (mapping then goes in `?mapping=<json>`)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        # Bytes: the import decodes them itself, recognising UTF-16 and UTF-8 byte-order marks.
        return {"csv": stream.read()}


def _actor_label(view) -> str:
    return str(view.request.user) if view.acting_user is None else f"Member {view.acting_user.email}"


class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, MerchantViewSet):
    """Contacts of the merchant. DELETE erases the contact (personal data removed, suppression kept)."""

    api_scopes = (ApiScope.MESSAGING, ApiScope.MARKETING)
    # Consent evidence and bulk imports are the marketing side's: a support bot's key records neither.
    action_scopes = {"consents": (ApiScope.MARKETING,), "import_csv": (ApiScope.MARKETING,)}

    serializer_class = ContactSerializer
    queryset = Contact.objects.none()
    capabilities = {
        "list": Capability.CONTACTS_VIEW,
        "retrieve": Capability.CONTACTS_VIEW,
        "create": Capability.CONTACTS_EDIT_PROFILE,
        "partial_update": Capability.CONTACTS_EDIT_PROFILE,
        "destroy": Capability.CONTACTS_MANAGE,
        "export": Capability.CONTACTS_MANAGE,
        "merge": Capability.CONTACTS_MANAGE,
        "import_csv": Capability.CONTACTS_MANAGE,
        "GET": Capability.CONTACTS_VIEW,  # consents: read
        "POST": Capability.CONTACTS_EDIT_PROFILE,  # consents: record one event
    }

    def get_base_queryset(self):
        params = self.request.query_params if self.action == "list" else {}
        return selectors.contact_list(merchant=self.merchant, **selectors.contact_filters_parse(params=params))

    def _contact(self, pk) -> Contact:
        return access_object(Contact, merchant=self.merchant, pk=pk, queryset=self.get_base_queryset())

    def _out(self, contact: Contact, code=status.HTTP_200_OK) -> Response:
        contact = self._contact(contact.pk)  # re-read with identities prefetched
        return Response(ContactSerializer(contact, context=self.get_serializer_context()).data, status=code)

    @extend_schema(parameters=LIST_FILTERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ContactInputSerializer, responses={201: ContactSerializer})
    def create(self, request):
        data = ContactInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = services.contact_create(merchant=self.merchant, **data.validated_data)
        return self._out(contact, status.HTTP_201_CREATED)

    @extend_schema(request=ContactInputSerializer, responses=ContactSerializer)
    def partial_update(self, request, pk=None):
        contact = self._contact(pk)
        data = ContactInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.contact_update(contact=contact, **data.validated_data)
        return self._out(contact)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        contact_erase(contact=self._contact(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses=ConsentsSerializer)
    @extend_schema(methods=["POST"], request=ConsentInputSerializer, responses={201: ConsentEventSerializer})
    @action(detail=True, methods=["get", "post"])
    def consents(self, request, pk=None):
        contact = self._contact(pk)
        if request.method == "POST":
            return self._consent_post(request, contact)
        events = selectors.consent_event_list(contact=contact).order_by("id")
        return Response(
            {
                "state": ConsentStateSerializer(selectors.consent_state_grid(contact=contact), many=True).data,
                "events": ConsentEventSerializer(events, many=True).data,
            }
        )

    def _consent_post(self, request, contact: Contact) -> Response:
        data = ConsentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        occurred_at = fields.pop("at", None)
        if fields.get("source") == ConsentSource.AGENT and self.acting_user is None:
            raise DRFValidationError({"source": ["Use source “api” for events recorded with an API key."]})
        try:
            event = services.consent_record(
                merchant=self.merchant, contact=contact, actor=self.acting_user, actor_label=_actor_label(self),
                occurred_at=occurred_at, sources=CALLER_SOURCES, **fields,
            )  # fmt: skip
        except ValidationError as exc:
            errors = exc.message_dict
            raise DRFValidationError({("at" if k == "occurred_at" else k): v for k, v in errors.items()}) from None
        return Response(ConsentEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        contact = access_object(Contact, merchant=self.merchant, pk=pk)  # erased contacts can be exported too
        response = Response(contact_export(contact=contact))
        response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
        return response

    @extend_schema(request=MergeInputSerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        target = self._contact(pk)
        data = MergeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = access_object(Contact, merchant=self.merchant, pk=data.validated_data["source"])
        contact_merge(source=source, target=target)
        return self._out(target)

    @extend_schema(
        request={"multipart/form-data": ImportInputSerializer, "application/json": ImportInputSerializer,
                 "text/csv": OpenApiTypes.STR},
        parameters=[OpenApiParameter("dry_run", bool, description="validate and preview only"),
                    OpenApiParameter("mapping", str, description="JSON mapping, for a text/csv body")],
        responses={200: ImportReportSerializer, 201: ImportReportSerializer},
    )  # fmt: skip
    @action(
        detail=False, methods=["post"], url_path="import", url_name="import",
        parser_classes=[parsers.MultiPartParser, BoundedJSONParser, CSVTextParser],
    )  # fmt: skip
    def import_csv(self, request):
        data, dry_run = _import_input(request), request.query_params.get("dry_run") in ("1", "true", "yes")
        upload = data.get("file")
        content = upload.read() if upload else data.get("csv", "")
        report = contact_import_file(
            merchant=self.merchant, data=content, filename=getattr(upload, "name", "") or "", mapping=data["mapping"],
            defaults=data.get("defaults") or {}, dry_run=dry_run, actor=self.acting_user,
        )  # fmt: skip
        if dry_run:
            return Response(ImportReportSerializer(report.as_dict()).data)
        if not report.ok:
            return _import_refused(report)
        return Response(ImportReportSerializer(report.as_dict()).data, status=status.HTTP_201_CREATED)


def _import_input(request) -> dict:
    raw = dict(request.data.items()) if hasattr(request.data, "items") else {}
    if "mapping" not in raw and request.query_params.get("mapping"):
        raw["mapping"] = request.query_params["mapping"]
    for key in ("mapping", "defaults"):
        if isinstance(raw.get(key), str):
            try:
                raw[key] = inputs.json_loads(raw[key])
            except inputs.InputError as exc:
                raise DRFValidationError({key: [f"Give a JSON object. {exc.message}"]}) from None
    body = raw.pop("csv") if isinstance(raw.get("csv"), bytes) else None  # a text/csv body, decoded by the import
    data = ImportInputSerializer(data=raw)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data) | ({"csv": body} if body else {})
    if not isinstance(values.get("mapping"), dict) or not isinstance(values.get("defaults", {}), dict):
        raise DRFValidationError({"mapping": ['Give a JSON object {"<csv column>": "<field>"}.']})
    if not values.get("file") and not values.get("csv"):
        raise DRFValidationError({"file": ["Send a CSV file (multipart “file”), a “csv” text or a text/csv body."]})
    return values


def _import_refused(report) -> Response:
    fields = {f"line {e['line']}": e["errors"] for e in report.errors}
    body = error_body(
        "import_invalid", f"{len(report.errors)} rows have errors; nothing was imported. Fix them and upload again.",
        fields,
    )  # fmt: skip
    body["error"]["rows"] = report.errors
    body["error"]["import_id"] = report.import_id
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class ConsentEventViewSet(mixins.ListModelMixin, MerchantViewSet):
    """The merchant's consent ledger, oldest first (cursor-paginated); `?contact=<id>` narrows it."""

    api_scopes = (ApiScope.MARKETING,)

    serializer_class = ConsentEventSerializer
    queryset = ConsentEvent.objects.none()
    required_capability = Capability.CONTACTS_MANAGE

    def get_base_queryset(self):
        qs = ConsentEvent.objects.select_related("actor")
        contact = self.request.query_params.get("contact", "")
        if contact:
            contact_id = inputs.ascii_int(contact)
            if contact_id is None:
                raise DRFValidationError({"contact": ["Give a contact id."]})
            qs = qs.filter(contact_id=contact_id)
        return qs

    @extend_schema(parameters=[OpenApiParameter("contact", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class ConsentLedgerExportApi(MerchantAPIView):
    """The merchant's whole consent ledger as CSV, streamed (for an auditor)."""

    api_scopes = (ApiScope.MARKETING,)

    required_capability = Capability.CONTACTS_MANAGE

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        return csv_response(consent_ledger_csv(merchant=self.merchant), "consent-ledger.csv")


EXPORT_PARAMETERS = [
    *LIST_FILTERS,
    OpenApiParameter(
        "columns", {"type": "array", "items": {"type": "string", "pattern": contact_csv.COLUMN_PATTERN}},
        style="form", explode=False,
        description=(
            "Column names, comma-separated (a repeated `columns=` is read too), in the file's order: "
            f"{', '.join(contact_csv.FIXED_COLUMNS)}; `attr:<key>` for each of the merchant's attribute definitions; "
            "`consent_<channel>_<purpose>` (e.g. `consent_whatsapp_marketing`: granted | revoked | pending | none, "
            "followed by a `…_since` column). Default: "
            f"{', '.join(contact_csv.DEFAULT_COLUMNS)}. An unknown column is a 400 naming it."
        ),
    ),
]  # fmt: skip


class ContactExportApi(MerchantAPIView):
    """The contacts the list's filters select, as CSV with the chosen columns, streamed (erased contacts are not
    in the list, so not in the file)."""

    # Consent states and a whole audience leave with it: the marketing side's, like imports and the ledger.
    api_scopes = (ApiScope.MARKETING,)

    required_capability = Capability.CONTACTS_MANAGE

    @extend_schema(
        parameters=EXPORT_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="Streamed: the header line, then one line a contact, newest first."
            )
        },
    )
    def get(self, request):
        filters = selectors.contact_filters_parse(params=request.query_params)
        columns = contact_csv.export_columns_parse(
            values=request.query_params.getlist("columns"), available=contact_csv.export_columns(merchant=self.merchant)
        )
        lines = contact_csv.contacts_csv(
            merchant=self.merchant, filters=filters, columns=columns, user=self.acting_user,
            api_key=request.auth if self.acting_user is None else None,
        )  # fmt: skip
        return csv_response(lines, "contacts.csv")


class _SettingsViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, MerchantViewSet):
    capabilities = {"list": Capability.CONTACTS_VIEW}
    required_capability = Capability.CONTACTS_MANAGE
    model = None
    create_service = None

    def get_base_queryset(self):
        return self.model.objects.all()

    def perform_create(self, serializer):
        serializer.instance = type(self).create_service(merchant=self.merchant, **serializer.validated_data)


class AttributeDefinitionViewSet(_SettingsViewSet):
    """Typed custom attributes contacts may carry (`attributes` of a contact, `attr:<key>` in imports)."""

    api_scopes = (ApiScope.MARKETING,)

    serializer_class = AttributeDefinitionSerializer
    queryset = AttributeDefinition.objects.none()
    model = AttributeDefinition
    create_service = staticmethod(attribute_definition_create)


class ConsentKeywordViewSet(_SettingsViewSet):
    """The merchant's own keywords on top of the built-in STOP/START/HELP words (stored normalised)."""

    api_scopes = (ApiScope.MARKETING,)

    serializer_class = ConsentKeywordSerializer
    queryset = ConsentKeyword.objects.none()
    model = ConsentKeyword
    create_service = staticmethod(keyword_create)

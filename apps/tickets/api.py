"""HTTP API for tickets, their comments and timeline, teams, business hours and SLA policies."""

from __future__ import annotations

from contextlib import contextmanager

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.conversations.policy import PolicyRefused
from apps.core.api.errors import Unprocessable
from apps.core.api.schema import error_responses
from apps.core.api.views import MerchantModelViewSet, MerchantViewSet
from apps.core.roles import Capability
from apps.core.tenancy import access_object
from apps.merchants.models import ApiKey
from apps.merchants.scopes import ApiScope
from apps.tickets import selectors, services
from apps.tickets.models import BusinessHours, SlaPolicy, Team, Ticket, TicketPriority, TicketStatus
from apps.tickets.serializers import (
    BusinessHoursSerializer,
    CommentInputSerializer,
    CommentSerializer,
    EventSerializer,
    LinkSerializer,
    MacroApplySerializer,
    MergeSerializer,
    SlaPolicySerializer,
    TeamSerializer,
    TicketCreateSerializer,
    TicketOutputSerializer,
    TicketUpdateSerializer,
)
from apps.tickets.services import Actor, TicketRefused


@contextmanager
def refusals_as_422():
    """Business refusals (ticket rules, the channel's send policy) become 422 with the rule's code."""
    try:
        yield
    except TicketRefused as exc:
        raise Unprocessable(detail=exc.message, code=exc.code) from None
    except PolicyRefused as exc:
        raise Unprocessable(detail=exc.message, code=exc.code) from None


REFUSED = error_responses(422)  # every ticket write goes through refusals_as_422
TICKET_OR_REFUSED = {200: TicketOutputSerializer, **REFUSED}


class TicketActorMixin:
    def actor(self) -> Actor:
        if isinstance(self.request.auth, ApiKey):
            return Actor(label=f"API key {self.request.auth.prefix}")
        return Actor(user=self.request.user)


FILTER_PARAMS = [
    # An empty value means "no filter" (the portal's filter form sends every field).
    OpenApiParameter(
        "status",
        str,
        enum=[*TicketStatus.values, "unsolved", ""],
        description="`unsolved`: not solved or closed; empty: any",
    ),
    OpenApiParameter("priority", str, enum=[*TicketPriority.values, ""], description="empty: any"),
    OpenApiParameter("assignee", int),
    OpenApiParameter("team", int),
    OpenApiParameter("contact", int),
    OpenApiParameter("tag", str),
    OpenApiParameter("q", str, description="search in subject and description"),
    OpenApiParameter("queue", str, enum=[*selectors.QUEUES, ""], description="default (and empty) `all`"),
]


class TicketViewSet(
    TicketActorMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    MerchantViewSet,
):
    """Tickets of the merchant. Filters: status, priority, assignee, team, contact, tag, queue."""

    api_scopes = (ApiScope.MESSAGING,)

    required_capability = Capability.TICKETS
    serializer_class = TicketOutputSerializer
    queryset = Ticket.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_base_queryset(self):
        if self.action != "list":
            return selectors.ticket_queryset(merchant=self.merchant)
        params = {k: v for k, v in self.request.query_params.items() if k != "sort"}
        filters = selectors.parse_filters(params)
        user = self.acting_user
        return selectors.ticket_list(merchant=self.merchant, user=user, filters=filters).order_by("-id")

    @extend_schema(parameters=FILTER_PARAMS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=TicketCreateSerializer, responses={201: TicketOutputSerializer, **REFUSED})
    def create(self, request):
        data = TicketCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        conversation = values.pop("conversation")
        with refusals_as_422():
            if conversation is not None and not values["description"]:
                ticket = services.ticket_create_from_conversation(
                    conversation=conversation,
                    actor=self.actor(),
                    subject=values["subject"],
                    priority=values["priority"],
                    assignee=values["assignee"],
                    team=values["team"],
                    tags=values["tags"],
                )
            else:
                ticket = services.ticket_create(
                    merchant=self.merchant,
                    actor=self.actor(),
                    conversations=[conversation] if conversation else [],
                    **values,
                )
        return Response(self._out(ticket.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=TicketUpdateSerializer, responses=TICKET_OR_REFUSED)
    def partial_update(self, request, pk=None):
        ticket = self.get_object()
        data = TicketUpdateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        with refusals_as_422():
            services.ticket_update(ticket=ticket, actor=self.actor(), **data.validated_data)
        return Response(self._out(ticket.pk))

    @extend_schema(request=MergeSerializer, responses=TICKET_OR_REFUSED)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Merge this ticket into `target` (this one is closed with a link to it)."""
        source = self.get_object()
        data = MergeSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        with refusals_as_422():
            target = services.ticket_merge(source=source, target=data.validated_data["target"], actor=self.actor())
        return Response(self._out(target.pk))

    @extend_schema(request=MacroApplySerializer, responses=TICKET_OR_REFUSED)
    @action(detail=True, methods=["post"], url_path="apply-macro")
    def apply_macro(self, request, pk=None):
        ticket = self.get_object()
        data = MacroApplySerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        with refusals_as_422():
            services.macro_apply(ticket=ticket, macro=data.validated_data["macro"], actor=self.actor())
        return Response(self._out(ticket.pk))

    @extend_schema(request=LinkSerializer, responses=TICKET_OR_REFUSED)
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        """Link one more conversation (its customer messages then count for the next-response clock)."""
        ticket = self.get_object()
        data = LinkSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        with refusals_as_422():
            services.ticket_link_conversation(
                ticket=ticket, conversation=data.validated_data["conversation"], actor=self.actor()
            )
        return Response(self._out(ticket.pk))

    def _out(self, pk: int) -> dict:
        return TicketOutputSerializer(selectors.ticket_queryset(merchant=self.merchant).get(pk=pk)).data


class TicketChildMixin:
    def ticket(self) -> Ticket:
        if not hasattr(self, "_ticket"):
            self._ticket = access_object(Ticket, merchant=self.merchant, pk=self.kwargs.get("ticket_pk"))
        return self._ticket


TICKET_PK = OpenApiParameter("ticket_pk", int, OpenApiParameter.PATH, description="The ticket's id.")


@extend_schema_view(list=extend_schema(parameters=[TICKET_PK]), create=extend_schema(parameters=[TICKET_PK]))
class TicketCommentViewSet(TicketActorMixin, TicketChildMixin, mixins.ListModelMixin, MerchantViewSet):
    """Comments of a ticket: GET lists them, POST adds a public reply or an internal comment."""

    api_scopes = (ApiScope.MESSAGING,)

    required_capability = Capability.TICKETS
    serializer_class = CommentSerializer
    queryset = Ticket.objects.none()

    def get_base_queryset(self):
        return selectors.ticket_comments(merchant=self.merchant, ticket_id=self.ticket().pk).order_by("-id")

    @extend_schema(request=CommentInputSerializer, responses={201: CommentSerializer, **REFUSED})
    def create(self, request, ticket_pk=None):
        ticket = self.ticket()
        data = CommentInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        with refusals_as_422():
            comment = services.ticket_comment_add(
                ticket=ticket,
                body=data.validated_data["body"],
                public=data.validated_data["public"],
                conversation=data.validated_data["conversation"],
                actor=self.actor(),
            )
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(parameters=[TICKET_PK]))
class TicketEventViewSet(TicketChildMixin, mixins.ListModelMixin, MerchantViewSet):
    """The ticket's timeline (append-only)."""

    api_scopes = (ApiScope.MESSAGING,)

    required_capability = Capability.TICKETS
    serializer_class = EventSerializer
    queryset = Ticket.objects.none()

    def get_base_queryset(self):
        return selectors.ticket_events(merchant=self.merchant, ticket_id=self.ticket().pk).order_by("-id")


class SettingsViewSet(MerchantModelViewSet):
    """Everyone who works tickets reads these; admins change them."""

    api_scopes = (ApiScope.ADMIN,)

    required_capability = Capability.TICKETS
    capabilities = {
        "create": Capability.SETTINGS,
        "partial_update": Capability.SETTINGS,
        "destroy": Capability.SETTINGS,
    }

    def _validated(self, instance=None) -> dict:
        serializer = self.get_serializer(instance, data=self.request.data, partial=instance is not None)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def create(self, request, *args, **kwargs):
        obj = self.save(None, self._validated())
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        obj = self.save(instance, self._validated(instance))
        return Response(self.get_serializer(obj).data)

    def perform_destroy(self, instance):
        self.remove(instance)


class TeamViewSet(SettingsViewSet):
    serializer_class = TeamSerializer
    queryset = Team.objects.none()

    def get_base_queryset(self):
        return selectors.team_list(merchant=self.merchant)

    def save(self, instance, values):
        members = values.pop("members", None)
        users = None
        if members is not None:
            users = [selectors_user(self.merchant, pk) for pk in members]
        name = values.get("name", instance.name if instance else "")
        description = values.get("description", instance.description if instance else "")
        return services.team_save(
            merchant=self.merchant, team=instance, name=name, description=description, members=users
        )

    def remove(self, instance: Team) -> None:
        services.team_delete(team=instance)


def selectors_user(merchant, pk: int):
    from django.core.exceptions import ValidationError

    user = next((u for u in selectors.agents(merchant=merchant) if u.pk == pk), None)
    if user is None:
        raise ValidationError({"members": f"User {pk} is not an agent of this merchant."})
    return user


class BusinessHoursViewSet(SettingsViewSet):
    serializer_class = BusinessHoursSerializer
    queryset = BusinessHours.objects.none()

    def get_base_queryset(self):
        return selectors.business_hours_list(merchant=self.merchant)

    def save(self, instance, values):
        return services.business_hours_save(merchant=self.merchant, hours=instance, **values)

    def remove(self, instance: BusinessHours) -> None:
        services.business_hours_delete(hours=instance)


class SlaPolicyViewSet(SettingsViewSet):
    serializer_class = SlaPolicySerializer
    queryset = SlaPolicy.objects.none()

    def get_base_queryset(self):
        return selectors.sla_policy_list(merchant=self.merchant)

    def save(self, instance, values):
        return services.sla_policy_save(merchant=self.merchant, policy=instance, **values)

    def remove(self, instance: SlaPolicy) -> None:
        services.sla_policy_delete(policy=instance)

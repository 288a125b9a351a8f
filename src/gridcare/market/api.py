"""REST API of market research, satisfaction surveys and the contractor register. Reports are read through
:func:`~gridcare.market.selectors.visible_reports` (a report on an unconverted prospect: 404 for anyone who does
not see the prospect); every write goes through an action and honours ``Idempotency-Key``."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.base import ActionViewSet, ScopedViewSetMixin
from gridcare.api.fields import (
    BusinessDateField,
    RoutingSlugRelatedField,
    ScopedModelSerializer,
    ScopedPrimaryKeyRelatedField,
)
from gridcare.core.errors import InvalidInput
from gridcare.core.requests import StaffRequest
from gridcare.customers.masking import mask_mobile
from gridcare.keyaccounts.models import Industry, Prospect
from gridcare.market import actions
from gridcare.market.filters import ContractorFilter, ReportFilter, SampleFilter, SurveyFilter
from gridcare.market.models import (
    Contractor,
    ContractorKind,
    Grade,
    PerformanceRecord,
    Qualification,
    QualificationType,
    Question,
    ReportAttachment,
    ResearchReport,
    SampleEntry,
    Survey,
)
from gridcare.market.selectors import (
    READ_REPORTS,
    contractor_status,
    open_attachment,
    selectable_contractors,
    survey_results,
    visible_reports,
)
from gridcare.org.models import OrgUnit

UNITS = OrgUnit.objects.filter(is_active=True)
REGION_REASON = "调研区域是组织机构名称，不是客户数据 (a region is an org-chart name, not data)"
SURVEY_REASON = "调查范围与访问班组是组织机构名称，不是客户数据 (units of the org chart, not data)"
SURVEY_READ = ("survey.manage", "survey.interview")
CONTRACTOR_READ = ("contractor.view", "contractor.manage")


# ------------------------------------------------------------------------------------------- research reports


class AttachmentSerializer(serializers.ModelSerializer[ReportAttachment]):
    class Meta:
        model = ReportAttachment
        fields = ["id", "name", "content_type", "size", "sha256", "uploaded_by", "uploaded_at"]
        read_only_fields = fields


class ReportSerializer(ScopedModelSerializer):
    region = RoutingSlugRelatedField(
        slug_field="code", queryset=UNITS, reason=REGION_REASON, required=False, allow_null=True
    )
    prospect = ScopedPrimaryKeyRelatedField(queryset=Prospect.objects.all(), required=False, allow_null=True)
    industry = serializers.ChoiceField(choices=Industry.choices, required=False, allow_blank=True)
    written_on = BusinessDateField()
    attachments = AttachmentSerializer(many=True, read_only=True)
    author_name = serializers.CharField(source="author.display_name", read_only=True)
    files = serializers.ListField(
        child=serializers.FileField(), write_only=True, required=False, help_text="PDF / Word / Excel"
    )

    class Meta:
        model = ResearchReport
        fields = [
            "id",
            "number",
            "title",
            "summary",
            "body",
            "industry",
            "region",
            "prospect",
            "author",
            "author_name",
            "written_on",
            "created_at",
            "attachments",
            "files",
        ]
        read_only_fields = ["number", "author", "created_at"]


class UploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()


class ReportViewSet(ActionViewSet):
    """市场调研报告 — search (``?q=``) and filters; write one (JSON, or multipart with ``files``); ``POST
    …/attach/`` adds a document. A report on an unconverted prospect answers 404 to whoever does not see it."""

    queryset = ResearchReport.objects.all()
    serializer_class = ReportSerializer
    filterset_class = ReportFilter
    view_permission = READ_REPORTS  # type: ignore[assignment]
    action_permissions = {"create": "research.write", "attach": "research.write"}
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        return visible_reports(self.request.user).prefetch_related("attachments")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        uploads = data.pop("files", []) or []
        files = [(upload.name, upload.read()) for upload in uploads]
        report = actions.do_write_report(self.request.user, files=files, **data)
        return Response(self.get_serializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses=AttachmentSerializer)
    @route(detail=True, methods=["post"])
    def attach(self, request: StaffRequest, pk: str | None = None) -> Response:
        """Add a document (PDF / Word / Excel, size limited) to the report."""
        report = self.get_object()
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput({"file": "请选择要上传的文件。 (Choose a file.)"})
        attachment = actions.do_add_attachment(request.user, report, name=upload.name, content=upload.read())
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[ReportAttachment]):
    """The documents of the reports the caller may read; ``GET …/{id}/download/`` sends the file."""

    queryset = ReportAttachment.objects.all()
    serializer_class = AttachmentSerializer
    view_permission = READ_REPORTS  # type: ignore[assignment]
    filterset_fields = ["report"]

    def get_queryset(self) -> Any:
        return ReportAttachment.objects.filter(report__in=visible_reports(self.request.user).values("pk"))

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @route(detail=True, methods=["get"])
    def download(self, request: StaffRequest, pk: str | None = None) -> FileResponse:
        attachment = self.get_object()
        return FileResponse(
            open_attachment(attachment),
            as_attachment=True,
            filename=attachment.name,
            content_type=attachment.content_type,
        )


# ------------------------------------------------------------------------------------------------ surveys


class QuestionSerializer(serializers.ModelSerializer[Question]):
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    choices = serializers.ListField(child=serializers.CharField(max_length=60), required=False)

    class Meta:
        model = Question
        fields = ["id", "position", "text", "kind", "choices"]
        read_only_fields = ["id", "position"]


class SurveySerializer(ScopedModelSerializer):
    unit = RoutingSlugRelatedField(slug_field="code", queryset=UNITS, reason=SURVEY_REASON)
    interview_unit = RoutingSlugRelatedField(slug_field="code", queryset=UNITS, reason=SURVEY_REASON)
    period_start = BusinessDateField()
    period_end = BusinessDateField()
    questions = QuestionSerializer(many=True, allow_empty=False)
    sample_size = serializers.IntegerField(required=False, min_value=1)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    exclude_days = serializers.IntegerField(required=False, min_value=0, max_value=3650)

    class Meta:
        model = Survey
        fields = [
            "id",
            "number",
            "title",
            "period_start",
            "period_end",
            "unit",
            "interview_unit",
            "owner_unit",
            "sample_size",
            "seed",
            "exclude_days",
            "status",
            "in_scope",
            "created_by",
            "created_at",
            "sampled_at",
            "questions",
        ]
        read_only_fields = [
            "number",
            "owner_unit",
            "status",
            "in_scope",
            "created_by",
            "created_at",
            "sampled_at",
        ]


class SurveyViewSet(ActionViewSet):
    """满意度调查 — create (questions inline), ``POST …/draw/`` draws the sample, ``GET …/results/`` the results by
    unit (response rate, coverage, average score per question, distribution), ``POST …/close/``."""

    queryset = Survey.objects.select_related("unit", "interview_unit")
    serializer_class = SurveySerializer
    filterset_class = SurveyFilter
    view_permission = SURVEY_READ  # type: ignore[assignment]
    action_permissions = {"create": "survey.manage", "draw": "survey.manage", "close": "survey.manage"}
    http_method_names = ["get", "post", "head", "options"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        survey = actions.do_create_survey(self.request.user, **serializer.validated_data)
        return Response(self.get_serializer(survey).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=SurveySerializer)
    @route(detail=True, methods=["post"])
    def draw(self, request: StaffRequest, pk: str | None = None) -> Response:
        return Response(self.get_serializer(actions.do_draw_sample(request.user, self.get_object())).data)

    @extend_schema(request=None, responses=SurveySerializer)
    @route(detail=True, methods=["post"])
    def close(self, request: StaffRequest, pk: str | None = None) -> Response:
        return Response(self.get_serializer(actions.do_close_survey(request.user, self.get_object())).data)

    @extend_schema(responses=dict)
    @route(detail=True, methods=["get"])
    def results(self, request: StaffRequest, pk: str | None = None) -> Response:
        found = survey_results(self.get_object())

        def unit(u: Any) -> dict[str, Any]:
            return {
                "unit": u.unit_name,
                "in_scope": u.in_scope,
                "sampled": u.sampled,
                "reached": u.reached,
                "refused": u.refused,
                "unreachable": u.unreachable,
                "response_rate": u.response_rate,
                "coverage": u.coverage,
                "averages": u.averages,
            }

        return Response(
            {
                "total": unit(found.total),
                "units": [unit(u) for u in found.units],
                "questions": [
                    {
                        "id": q.question.pk,
                        "text": q.question.text,
                        "kind": q.question.kind,
                        "answered": q.answered,
                        "average": q.average,
                        "distribution": dict(q.distribution),
                        "texts": q.texts,
                    }
                    for q in found.questions
                ],
            }
        )


class SampleEntrySerializer(serializers.ModelSerializer[SampleEntry]):
    account_number = serializers.CharField(source="account.number", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    answers = serializers.SerializerMethodField()

    class Meta:
        model = SampleEntry
        fields = [
            "id",
            "survey",
            "account",
            "account_number",
            "account_name",
            "unit",
            "customer_class",
            "status",
            "interviewer",
            "contacted_at",
            "note",
            "answers",
        ]
        read_only_fields = fields

    def get_answers(self, entry: SampleEntry) -> dict[str, Any]:
        return {str(a.question_id): a.rating or a.choice or a.text for a in entry.answers.all()}


class InterviewSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=[SampleEntry.Status.REACHED, SampleEntry.Status.REFUSED, SampleEntry.Status.UNREACHABLE]
    )
    answers = serializers.DictField(required=False, help_text="question id → rating 1–5, choice, or text")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class SampleContactSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    role = serializers.CharField()
    mobile = serializers.CharField()


class SamplePhoneSerializer(serializers.Serializer[Any]):
    entry = serializers.IntegerField()
    account_number = serializers.CharField()
    contacts = SampleContactSerializer(many=True)


class SampleViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[SampleEntry]):
    """抽样客户 — the sampled customers of the surveys in the caller's scope; ``POST …/phone/`` gives the
    interviewer the clear numbers to call (audited), ``POST …/interview/`` records the call (reached / refused /
    unreachable) and, when reached, the answers."""

    queryset = SampleEntry.objects.select_related("account").prefetch_related("answers")
    serializer_class = SampleEntrySerializer
    filterset_class = SampleFilter
    view_permission = SURVEY_READ  # type: ignore[assignment]
    action_permissions = {"interview": "survey.interview", "phone": "survey.interview"}
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=None, responses=SamplePhoneSerializer)
    @route(detail=True, methods=["post"])
    def phone(self, request: StaffRequest, pk: str | None = None) -> Response:
        """回访拨号 — the sampled customer's phone numbers, primary contact first (every look audited)."""
        return Response(actions.do_view_sample_phone(request.user, self.get_object()))

    @extend_schema(request=InterviewSerializer, responses=SampleEntrySerializer)
    @route(detail=True, methods=["post"])
    def interview(self, request: StaffRequest, pk: str | None = None) -> Response:
        entry = self.get_object()  # outside the caller's scope: 404 before the body is read
        data = InterviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = actions.do_record_interview(request.user, entry, **data.validated_data)
        return Response(self.get_serializer(entry).data)


# -------------------------------------------------------------------------------------------- contractors


class QualificationSerializer(serializers.ModelSerializer[Qualification]):
    qualification_type = serializers.ChoiceField(choices=QualificationType.choices)
    grade = serializers.ChoiceField(choices=Grade.choices)
    valid_from = BusinessDateField()
    valid_to = BusinessDateField()

    class Meta:
        model = Qualification
        fields = [
            "id",
            "qualification_type",
            "grade",
            "certificate_no",
            "valid_from",
            "valid_to",
            "recorded_at",
        ]
        read_only_fields = ["id", "recorded_at"]


class PerformanceSerializer(serializers.ModelSerializer[PerformanceRecord]):
    kind = serializers.ChoiceField(choices=PerformanceRecord.Kind.choices)
    happened_on = BusinessDateField()
    rating = serializers.IntegerField(required=False, allow_null=True)

    class Meta:
        model = PerformanceRecord
        fields = [
            "id",
            "kind",
            "project",
            "happened_on",
            "rating",
            "description",
            "qualification",
            "recorded_at",
        ]
        read_only_fields = ["id", "qualification", "recorded_at"]


class ContractorSerializer(serializers.ModelSerializer[Contractor]):
    kind = serializers.ChoiceField(choices=ContractorKind.choices)
    status = serializers.SerializerMethodField()
    qualifications = QualificationSerializer(many=True, read_only=True)
    records = PerformanceSerializer(many=True, read_only=True)

    class Meta:
        model = Contractor
        fields = [
            "id",
            "name",
            "kind",
            "credit_code",
            "contact_name",
            "contact_phone",
            "address",
            "status",
            "qualifications",
            "records",
        ]
        read_only_fields = ["id", "status", "qualifications", "records"]

    def get_status(self, contractor: Contractor) -> str:
        """valid / expiring / expired / none (the qualification of the unit's kind, today)."""
        return contractor_status(contractor)

    def to_representation(self, instance: Contractor) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["contact_phone"] = mask_mobile(instance.contact_phone) if instance.contact_phone else ""
        return data


class ContractorViewSet(ActionViewSet):
    """施工/设计单位资质库 — ``?status=valid&kind=construction&on=2026-12-03`` lists the selectable ones;
    ``POST …/qualifications/`` adds a certificate, ``POST …/records/`` a project, rating or complaint (a project
    is refused when the unit's qualification is expired on its date)."""

    queryset = Contractor.objects.prefetch_related("qualifications", "records")
    serializer_class = ContractorSerializer
    filterset_class = ContractorFilter
    view_permission = CONTRACTOR_READ  # type: ignore[assignment]
    action_permissions = {
        "create": "contractor.manage",
        "qualifications": "contractor.manage",
        "records": "contractor.manage",
    }
    http_method_names = ["get", "post", "head", "options"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contractor = actions.do_register_contractor(self.request.user, **serializer.validated_data)
        return Response(self.get_serializer(contractor).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=QualificationSerializer, responses={201: QualificationSerializer})
    @route(detail=True, methods=["post"])
    def qualifications(self, request: StaffRequest, pk: str | None = None) -> Response:
        contractor = self.get_object()
        data = QualificationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        found = actions.do_add_qualification(request.user, contractor, **data.validated_data)
        return Response(QualificationSerializer(found).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PerformanceSerializer, responses={201: PerformanceSerializer})
    @route(detail=True, methods=["post"])
    def records(self, request: StaffRequest, pk: str | None = None) -> Response:
        contractor = self.get_object()
        data = PerformanceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        found = actions.do_record_performance(request.user, contractor, **data.validated_data)
        return Response(PerformanceSerializer(found).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, enum=list(ContractorKind.values), required=True),
            OpenApiParameter("on", str, description="YYYY-MM-DD (today by default)"),
        ],
        responses=ContractorSerializer(many=True),
    )
    @route(detail=False, methods=["get"])
    def selectable(self, request: StaffRequest) -> Response:
        """The units that may be given a ``kind`` job on ``on``: those whose qualification is valid that day."""
        import datetime as dt

        kind = request.query_params.get("kind", "")
        if kind not in ContractorKind.values:
            raise InvalidInput({"kind": "请指定 construction（施工）或 design（设计）。 (kind is required.)"})
        raw = request.query_params.get("on", "")
        try:
            day = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            raise InvalidInput({"on": f"日期「{raw[:20]}」格式应为 YYYY-MM-DD。 (Not a date.)"}) from None
        rows = selectable_contractors(kind, day).prefetch_related("qualifications", "records")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


ROUTES = [
    ("market/reports", ReportViewSet, "research-report"),
    ("market/attachments", AttachmentViewSet, "research-attachment"),
    ("market/surveys", SurveyViewSet, "survey"),
    ("market/sample", SampleViewSet, "survey-sample"),
    ("market/contractors", ContractorViewSet, "contractor"),
]

"""The daily usage export: each tenant's usage of each model in a UTC day, as FOCUS 1.2 rows, for
FinOps tools and Athena.

FOCUS (the FinOps Open Cost and Usage Specification, https://focus.finops.org/focus-specification/v1-2/)
names the columns of a cost and usage dataset; LiteLLM's FOCUS export adopted them for LLM spend. One
row per tenant x model x Region per day, from what the budget run metered (genai_hub.metering: the
`day_models` of each tenant's month usage item; profiles from CloudWatch, imported models from the
invocation logs, genai_hub.attribution), so the export and the budgets agree to the cent.

Filled: BilledCost = EffectiveCost = ListCost = ContractedCost (the hub's price table is on-demand list
prices; no discounts or commitments are known to it), BillingCurrency USD, BillingPeriodStart/End (the
calendar month), ChargePeriodStart/End (the day), ChargeCategory Usage, ChargeClass null (not a
correction), ChargeDescription, ChargeFrequency Usage-Based, ConsumedQuantity/ConsumedUnit (tokens),
PricingQuantity/PricingUnit (1,000 tokens; Custom Model Unit-minutes are not counted per tenant, so an
imported model's row prices tokens as its share), ProviderName/PublisherName/InvoiceIssuerName, RegionId,
ResourceId (the tenant's profile or the imported model's ARN), ResourceName, ResourceType,
ServiceCategory "AI and Machine Learning", ServiceSubcategory "Generative AI", ServiceName "Amazon
Bedrock", SubAccountId/SubAccountName (the tenant's spoke account and the tenant), Tags (tenant, cost
centre), and the x_ columns (tenant, model, cost centre, invocations, input and output tokens, pricing
basis). Null, because the hub cannot know them: BillingAccountId's name, CommitmentDiscount*,
CapacityReservation*, SkuId/SkuPriceId, AvailabilityZone.

Files: `s3://<UsageExportBucket>/focus/dt=YYYY-MM-DD/usage.json`, JSON Lines (the Athena JSON SerDe
reads one object per line); rewritten whole when a day is exported again (idempotent). The Glue table
(template.yaml UsageExportTable) lists exactly EXPORT_COLUMNS.
"""
import calendar
import json
from datetime import date, datetime, timedelta, timezone

from genai_hub import aws, config, registry

PREFIX = "focus"
EXPORT_COLUMNS = (  # name, Glue/Athena type: one source of truth with the template's table (tested)
    ("BilledCost", "double"), ("BillingAccountId", "string"), ("BillingCurrency", "string"),
    ("BillingPeriodStart", "string"), ("BillingPeriodEnd", "string"), ("ChargeCategory", "string"), ("ChargeClass", "string"),
    ("ChargeDescription", "string"), ("ChargeFrequency", "string"), ("ChargePeriodStart", "string"), ("ChargePeriodEnd", "string"),
    ("ConsumedQuantity", "double"), ("ConsumedUnit", "string"), ("ContractedCost", "double"), ("EffectiveCost", "double"),
    ("InvoiceIssuerName", "string"), ("ListCost", "double"), ("PricingQuantity", "double"), ("PricingUnit", "string"),
    ("ProviderName", "string"), ("PublisherName", "string"), ("RegionId", "string"), ("ResourceId", "string"),
    ("ResourceName", "string"), ("ResourceType", "string"), ("ServiceCategory", "string"), ("ServiceSubcategory", "string"),
    ("ServiceName", "string"), ("SkuId", "string"), ("SubAccountId", "string"), ("SubAccountName", "string"), ("Tags", "string"),
    ("x_TenantId", "string"), ("x_ModelId", "string"), ("x_CostCenter", "string"), ("x_Invocations", "bigint"),
    ("x_InputTokens", "bigint"), ("x_OutputTokens", "bigint"), ("x_PricingBasis", "string"),
)
_PUBLISHERS = {"amazon": "Amazon", "anthropic": "Anthropic", "meta": "Meta", "mistral": "Mistral AI", "cohere": "Cohere"}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def key_of(day: date) -> str:
    return f"{PREFIX}/dt={day.isoformat()}/usage.json"


def _where(tenant_id: str, model_id: str) -> tuple[str, str, str]:
    """(resource ARN, Region, resource type) of the tenant's access to the model (its profile, or the
    imported model); the hub's Region when both are gone (an offboarded tenant)."""
    profile = registry.get_item({"pk": registry.tenant_pk(tenant_id), "sk": f"PROFILE#{model_id}"})
    if profile:
        return profile["profile_arn"], profile["profile_arn"].split(":")[3], "Application inference profile"
    grant = registry.get_item({"pk": registry.tenant_pk(tenant_id), "sk": f"GRANT#{model_id}"}) or {}
    if grant.get("invoke_arn"):
        return grant["invoke_arn"], grant["invoke_arn"].split(":")[3], "Imported model"
    return "", config.region(), "Application inference profile"


def rows(day: date) -> list[dict]:
    """The FOCUS rows of one UTC day: every tenant's usage of every model it used that day."""
    month, key = day.strftime("%Y-%m"), day.isoformat()
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    first = start.replace(day=1)
    after_month = first + timedelta(days=calendar.monthrange(day.year, day.month)[1])
    hub_account = config.tenant_access_role_arn().split(":")[4]
    found = []
    for item in sorted(registry.index_items(f"USAGE#{month}"), key=lambda i: i["tenant_id"]):
        tenant_id = item["tenant_id"]
        used = (item.get("day_models") or {}).get(key) or {}
        if not used:
            continue
        meta = registry.get_item({"pk": registry.tenant_pk(tenant_id), "sk": "META"}) or {}
        for model_id, totals in sorted(used.items()):
            arn, region, kind = _where(tenant_id, model_id)
            imported = "." not in model_id.split(":", 1)[0]
            usd = float(totals["usd"])
            tokens = int(totals["input_tokens"]) + int(totals["output_tokens"])
            found.append({
                "BilledCost": usd, "BillingAccountId": hub_account, "BillingCurrency": "USD",
                "BillingPeriodStart": _iso(first), "BillingPeriodEnd": _iso(after_month),
                "ChargeCategory": "Usage", "ChargeClass": None,
                "ChargeDescription": f"{model_id} for tenant {tenant_id}: {totals['invocations']} invocations, {tokens} tokens",
                "ChargeFrequency": "Usage-Based", "ChargePeriodStart": _iso(start), "ChargePeriodEnd": _iso(start + timedelta(days=1)),
                "ConsumedQuantity": float(tokens), "ConsumedUnit": "Tokens", "ContractedCost": usd, "EffectiveCost": usd,
                "InvoiceIssuerName": "Amazon Web Services", "ListCost": usd, "PricingQuantity": tokens / 1000,
                "PricingUnit": "1K Tokens", "ProviderName": "Amazon Web Services",
                "PublisherName": "GenAI Hub research (Custom Model Import)" if imported else _PUBLISHERS.get(model_id.split(".", 1)[0], model_id.split(".", 1)[0]),
                "RegionId": region, "ResourceId": arn, "ResourceName": model_id, "ResourceType": kind,
                "ServiceCategory": "AI and Machine Learning", "ServiceSubcategory": "Generative AI", "ServiceName": "Amazon Bedrock",
                "SkuId": None, "SubAccountId": meta.get("spoke_account_id"), "SubAccountName": tenant_id,
                "Tags": json.dumps({"genai-hub:tenant-id": tenant_id, "genai-hub:cost-center": meta.get("cost_center", "")}, sort_keys=True),
                "x_TenantId": tenant_id, "x_ModelId": model_id, "x_CostCenter": meta.get("cost_center"),
                "x_Invocations": int(totals["invocations"]), "x_InputTokens": int(totals["input_tokens"]),
                "x_OutputTokens": int(totals["output_tokens"]),
                "x_PricingBasis": "custom-model-unit share by tokens" if imported else "on-demand tokens",
            })
    return found


def export(day: date) -> dict:
    """Write the day's rows (all of them, replacing an earlier export of the day); where and how many."""
    found = rows(day)
    body = "".join(json.dumps({name: row[name] for name, _ in EXPORT_COLUMNS}) + "\n" for row in found)
    aws.client("s3").put_object(Bucket=config.usage_export_bucket(), Key=key_of(day), Body=body.encode(),
                                ContentType="application/x-ndjson")
    return {"day": day.isoformat(), "key": key_of(day), "rows": len(found), "bucket": config.usage_export_bucket(),
            "usd": round(sum(r["BilledCost"] for r in found), 6)}

{% snapshot customers_snapshot %}
{{ config(target_schema=target.schema, unique_key='customer_id', strategy='check', check_cols=['full_name', 'country_code']) }}
select customer_id, full_name, country_code from {{ ref('stg_customers') }}
{% endsnapshot %}

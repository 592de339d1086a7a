{{ config(materialized='incremental', unique_key='order_id', tags=['finance']) }}

select order_id, customer_id, ordered_at, status, amount
from {{ ref('stg_orders') }}
{% if is_incremental() %}
where ordered_at > (select coalesce(max(ordered_at), date '1900-01-01') from {{ this }})
{% endif %}

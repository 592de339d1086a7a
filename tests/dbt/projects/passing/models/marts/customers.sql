with orders as (
    select customer_id, count(*) as order_count, sum(amount) as lifetime_value
    from {{ ref('stg_orders') }}
    group by customer_id
)
select
    c.customer_id,
    c.full_name,
    cc.country_name,
    coalesce(o.order_count, 0) as order_count,
    coalesce(o.lifetime_value, 0) as lifetime_value
from {{ ref('stg_customers') }} as c
left join orders as o using (customer_id)
left join {{ ref('country_codes') }} as cc using (country_code)

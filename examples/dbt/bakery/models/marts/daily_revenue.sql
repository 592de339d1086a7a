select
    s.sold_on,
    sum(s.quantity) as items,
    sum(s.quantity * p.price_cents) / 100.0 as revenue
from {{ ref('stg_sales') }} as s
join {{ ref('products') }} as p using (product_id)
group by s.sold_on
order by s.sold_on

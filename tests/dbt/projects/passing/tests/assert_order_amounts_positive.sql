-- Singular test: every order amount is positive. Returns the offending rows.
select o.order_id, o.amount
from {{ ref('orders') }} as o
join {{ ref('stg_orders') }} as s using (order_id)
where o.amount <= 0 or s.amount <= 0

-- The orders of one time window, given as vars (the orchestrator passes a partition's window
-- as min_date/max_date); without vars, every order.
select order_id, customer_id, ordered_at, amount
from {{ ref('stg_orders') }}
where ordered_at >= cast('{{ var("min_date", "1900-01-01") }}' as date)
  and ordered_at < cast('{{ var("max_date", "2999-01-01") }}' as date)

select
    c.customer_id,
    c.full_name,
    count(e.event_id) as event_count
from {{ ref('customers') }} as c
left join {{ ref('stg_events') }} as e using (customer_id)
group by c.customer_id, c.full_name

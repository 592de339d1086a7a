select
    customer_id,
    first_name || ' ' || last_name as full_name,
    country_code
from {{ ref('raw_customers') }}

select
    sale_id,
    cast(sold_at as date) as sold_on,
    product_id,
    quantity
from {{ source('till', 'sales') }}
where quantity > 0

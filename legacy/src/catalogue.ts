import { mulberry32, shuffled } from './random.ts';

/** A row of the legacy `product` table. `price` is NUMERIC(10,2) as text, as pg returns it. */
export interface Product {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly price: string;
}

export const CATEGORIES = [
  'electronics',
  'books',
  'home',
  'kitchen',
  'sports',
  'outdoors',
  'beauty',
  'toys',
  'fashion',
  'grocery',
] as const;

export type Category = (typeof CATEGORIES)[number];

export const PRODUCTS_PER_CATEGORY = 30;

interface CategoryWords {
  /** Every name is `<head> <tail>`; heads x tails must offer at least PRODUCTS_PER_CATEGORY names. */
  readonly heads: readonly string[];
  readonly tails: readonly string[];
  /** Whole-currency price range. */
  readonly price: readonly [min: number, max: number];
}

const WORDS: Readonly<Record<Category, CategoryWords>> = {
  electronics: {
    heads: ['Aurora', 'Nimbus', 'Vertex', 'Lumen', 'Orbit', 'Pulse'],
    tails: [
      '14" Ultrabook',
      'Noise-Cancelling Headphones',
      '27" 4K Monitor',
      'Mechanical Keyboard',
      'Wireless Mouse',
      'Smartwatch',
      'Bluetooth Speaker',
      'USB-C Hub',
    ],
    price: [19, 1499],
  },
  books: {
    heads: [
      'The Quiet Harbor',
      'The Last Orchard',
      'Salt and Silence',
      'A Field Guide to Rivers',
      'The Glass Archive',
      'Northern Lights',
      "The Cartographer's Daughter",
      'Bread for Beginners',
      'Learning SQL',
      'Designing Data Pipelines',
      'The Winter Garden',
      'Small Gods of the City',
    ],
    tails: ['(Paperback)', '(Hardcover)', '(Audiobook)'],
    price: [6, 45],
  },
  home: {
    heads: ['Nordic', 'Loft', 'Heritage', 'Coastal', 'Studio', 'Terra'],
    tails: [
      'Throw Pillow 45 cm',
      'Table Lamp',
      'Floor Rug 160x230',
      'Wall Clock',
      'Storage Basket',
      'Side Table',
      'Duvet Cover 200x200',
    ],
    price: [12, 320],
  },
  kitchen: {
    heads: [
      'Cast Iron Skillet',
      'Stainless Saucepan',
      'Enamel Dutch Oven',
      'Nonstick Frying Pan',
      'Carbon Steel Wok',
      'Ceramic Baking Dish',
      'Bamboo Cutting Board',
    ],
    tails: ['20 cm', '24 cm', '26 cm', '28 cm', '32 cm'],
    price: [12, 220],
  },
  sports: {
    heads: ['Stride', 'Apex', 'Kinetic', 'Volt', 'Tempo'],
    tails: [
      'Running Shoes',
      'Yoga Mat 6 mm',
      'Adjustable Dumbbell 20 kg',
      'Football Size 5',
      'Tennis Racket',
      'Cycling Jersey',
      'Resistance Band Set',
      'Jump Rope',
    ],
    price: [8, 300],
  },
  outdoors: {
    heads: ['Ridge', 'Trailhead', 'Alpine', 'Cedar', 'Northwind'],
    tails: [
      '2-Person Tent',
      'Sleeping Bag -5 °C',
      'Hiking Backpack 40 L',
      'Trekking Poles',
      'Camping Stove',
      'Headlamp 300 lm',
      'Water Filter Bottle',
    ],
    price: [12, 450],
  },
  beauty: {
    heads: ['Rose', 'Citrus', 'Oat & Honey', 'Sea Salt', 'Green Tea', 'Lavender'],
    tails: [
      'Face Serum 30 ml',
      'Hand Cream 75 ml',
      'Shampoo 250 ml',
      'Body Lotion 400 ml',
      'Lip Balm',
      'Sheet Mask 5-Pack',
    ],
    price: [4, 60],
  },
  toys: {
    heads: ['Rocket', 'Jungle', 'Rainbow', 'Pirate', 'Dino', 'Castle'],
    tails: [
      'Building Blocks 500 pcs',
      'Puzzle 1000 pcs',
      'Plush Toy',
      'Board Game',
      'Wooden Train Set',
      'Kite',
    ],
    price: [8, 120],
  },
  fashion: {
    heads: ['Navy', 'Charcoal', 'Olive', 'Sand', 'Burgundy', 'Ivory'],
    tails: [
      'Merino Sweater',
      'Denim Jacket',
      'Linen Shirt',
      'Chino Trousers',
      'Leather Belt',
      'Wool Scarf',
      'Canvas Sneakers',
    ],
    price: [15, 180],
  },
  grocery: {
    heads: ['Organic', 'Fair Trade', 'Artisan', 'Farmhouse', 'Premium'],
    tails: [
      'Coffee Beans 1 kg',
      'Green Tea 100 Bags',
      'Olive Oil 750 ml',
      'Dark Chocolate 85%',
      'Basmati Rice 2 kg',
      'Honey 500 g',
      'Rolled Oats 1 kg',
      'Penne Pasta 500 g',
    ],
    price: [2, 30],
  },
};

const CATALOGUE_SEED = 20_240_611;
const PRICE_ENDINGS = [0, 50, 99] as const;

/**
 * The demo shop's catalogue: 300 products, 30 per category, identical on every call and every machine. Ids
 * (`prod-001`..`prod-300`) are dealt out after shuffling, so an id says nothing about its category.
 */
export function demoCatalogue(): Product[] {
  const random = mulberry32(CATALOGUE_SEED);
  const unnumbered = CATEGORIES.flatMap((category) => {
    const { heads, tails, price } = WORDS[category];
    const names = shuffled(
      heads.flatMap((head) => tails.map((tail) => `${head} ${tail}`)),
      random,
    ).slice(0, PRODUCTS_PER_CATEGORY);
    return names.map((name) => ({ name, category, price: demoPrice(price, random) }));
  });
  return shuffled(unnumbered, random).map((product, i) => ({
    id: `prod-${String(i + 1).padStart(3, '0')}`,
    ...product,
  }));
}

/** Skewed towards the cheap end of the range, as real catalogues are; cents end in .00, .50 or .99. */
function demoPrice([min, max]: readonly [number, number], random: () => number): string {
  const whole = Math.floor(min + random() ** 2 * (max - min));
  const cents = PRICE_ENDINGS[Math.floor(random() * PRICE_ENDINGS.length)]!;
  return `${whole}.${String(cents).padStart(2, '0')}`;
}
